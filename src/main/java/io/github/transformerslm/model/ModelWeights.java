package io.github.transformerslm.model;

import io.github.transformerslm.runtime.MatmulPool;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.github.transformerslm.model.nn.Embeddings;
import io.github.transformerslm.model.nn.Linear;
import io.github.transformerslm.model.nn.Norms;
import io.github.transformerslm.model.nn.Quantization;
import io.github.transformerslm.model.nn.TokenEmbedding;
import io.github.transformerslm.weights.Checkpoint;
import java.util.List;

/**
 * The checkpoint as an architecture sees it: tensors by their Hugging Face names, whichever of the
 * usual prefixes ({@code transformer.}, {@code model.}, none) the file was saved with. Matrices come
 * in the serving dtype, norm parameters in float32.
 *
 * @param prefixes the name prefixes tried in order
 * @param quantization how projections are held
 * @param headQuantization how the language-model head and the embeddings tied to it are held
 * @param pool the threads the model's large products and its attention split across
 */
public record ModelWeights(Checkpoint checkpoint, NDManager manager, DataType servingType, List<String> prefixes,
        Quantization quantization, Quantization headQuantization, MatmulPool pool) {

    /**
     * Projections held as {@code quantization} says, the language-model head (and the embeddings tied to it)
     * as {@code headQuantization} says.
     */
    public ModelWeights(Checkpoint checkpoint, NDManager manager, DataType servingType, Quantization quantization,
            Quantization headQuantization, MatmulPool pool) {
        this(checkpoint, manager, servingType, List.of(""), quantization, headQuantization, pool);
    }

    /** Float weights, on the calling thread alone. */
    public ModelWeights(Checkpoint checkpoint, NDManager manager, DataType servingType) {
        this(checkpoint, manager, servingType, Quantization.NONE, Quantization.NONE, MatmulPool.CALLER_ONLY);
    }

    /** The same weights, looked up under these prefixes in order. */
    public ModelWeights withPrefixes(List<String> candidates) {
        return new ModelWeights(checkpoint, manager, servingType, candidates, quantization, headQuantization, pool);
    }

    public boolean contains(String name) {
        return resolve(name) != null;
    }

    /** The stored name for {@code name}, trying each prefix; null when absent. */
    private String resolve(String name) {
        for (String prefix : prefixes) {
            if (checkpoint.contains(prefix + name)) {
                return prefix + name;
            }
        }
        return null;
    }

    private String require(String name) {
        String stored = resolve(name);
        // Let the checkpoint name the file and the tensor in its error.
        return stored != null ? stored : prefixes.get(0) + name;
    }

    /** A matrix stored as {@code [out, in]}, in the serving dtype. */
    public NDArray matrix(String name) {
        return checkpoint.load(require(name), manager, servingType);
    }

    /**
     * A matrix stored as {@code [in, out]} (GPT-2's Conv1D), transposed once at load into a contiguous
     * {@code [out, in]} array: a strided view would make every product several times slower.
     */
    public NDArray transposedMatrix(String name) {
        try (NDManager scratch = manager.newSubManager()) {
            NDArray stored = checkpoint.load(require(name), scratch, servingType);
            long in = stored.getShape().get(0);
            long out = stored.getShape().get(1);
            NDArray contiguous = stored.transpose().reshape(-1).reshape(out, in);
            contiguous.attach(manager);
            return contiguous;
        }
    }

    /** A one-dimensional parameter used by float32 arithmetic (norm weights and biases). */
    public NDArray vector(String name) {
        return checkpoint.load(require(name), manager, DataType.FLOAT32);
    }

    /** A LayerNorm stored as {@code prefix.weight} and {@code prefix.bias}. */
    public Norms.Norm layerNorm(String prefix, float eps) {
        return Norms.layerNorm(vector(prefix + ".weight"), vector(prefix + ".bias"), eps);
    }

    /** An RMSNorm stored as {@code prefix.weight}. */
    public Norms.Norm rmsNorm(String prefix, float eps) {
        return Norms.rmsNorm(vector(prefix + ".weight"), eps);
    }

    /** A bias added inside a product: it must share the matrix's dtype. */
    public NDArray bias(String name) {
        return checkpoint.load(require(name), manager, servingType);
    }

    public NDArray optionalBias(String name) {
        return contains(name) ? bias(name) : null;
    }

    /**
     * A projection stored as {@code [out, in]} (nn.Linear): packed for the vector kernels where they run,
     * else used as stored by libtorch (zero-copy from the mapped file when the dtypes match).
     */
    public Linear linear(String prefix, boolean withBias) {
        return new Linear(matrix(prefix + ".weight"), withBias ? bias(prefix + ".bias") : null, quantization, pool);
    }

    /**
     * The language-model head over the input embeddings it is tied to ({@code [vocab, hidden]}), quantized
     * like every other projection; its rows then also serve the embedding lookup.
     */
    public Linear tiedHead(NDArray embeddingTable, NDArray bias) {
        return new Linear(embeddingTable, bias, headQuantization, pool);
    }

    /**
     * An input embedding table of its own ({@code [vocab, hidden]}, not tied to the head): quantized like the
     * head where QUANTIZE is set (llama.cpp quantizes its token embeddings too), its rows dequantized as they
     * are looked up; else held in the serving dtype.
     */
    public TokenEmbedding embeddings(NDArray table) {
        return headQuantization == Quantization.NONE ? Embeddings.table(table) : new Linear(table, null, headQuantization, pool);
    }

    /** The language-model head stored as its own {@code [vocab, hidden]} matrix. */
    public Linear head(String prefix, boolean withBias) {
        return new Linear(matrix(prefix + ".weight"), withBias ? bias(prefix + ".bias") : null, headQuantization, pool);
    }

    /**
     * GPT-2's Conv1D, stored {@code [in, out]}: packed from there for the vector kernels, and used as stored
     * by libtorch in float32; transposed once into {@code [out, in]} for libtorch in float16, where that is
     * its fast layout.
     */
    public Linear conv1d(String prefix) {
        NDArray b = bias(prefix + ".bias");
        if (servingType == DataType.FLOAT32 || Linear.vectorKernels()) {
            return Linear.inputMajor(matrix(prefix + ".weight"), b, quantization, pool);
        }
        return new Linear(transposedMatrix(prefix + ".weight"), b, quantization, pool);
    }

    /** Counted from the checkpoint, so a tied embedding counts once. */
    public long parameterCount() {
        long n = 0;
        for (String name : checkpoint.names()) {
            long size = 1;
            for (long d : checkpoint.shape(name)) {
                size *= d;
            }
            n += size;
        }
        return n;
    }
}
