package io.github.transformerslm.model.nn;

import io.github.transformerslm.runtime.MatmulPool;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import java.util.ArrayList;
import java.util.List;

/**
 * y = x·Wᵀ + b, W given as Hugging Face's {@code [out, in]} or as {@code [in, out]} (GPT-2's Conv1D;
 * {@link #inputMajor}). Where the {@link VectorKernels} can run (the Vector API on a CPU), W is packed once
 * into column panels ({@link PanelWeights}) and every product, decoding and prefill, runs there; the
 * arrays given are then closed. Elsewhere (a GPU, or no Vector API) libtorch multiplies W as given:
 * large matrices split by output rows across the {@link MatmulPool}'s threads (views of the one tensor),
 * float16 widened block by block for many rows. Weights may be float16 while activations stay float32,
 * so norms, softmax and the residual stream never lose precision.
 */
public final class Linear implements TokenEmbedding {
    private final NDArray weight; // [out, in], or [in, out] when inputMajor; null once packed for the kernels
    private final NDArray bias; // [out] or null
    private final boolean inputMajor;
    private final long out;
    private final List<NDArray[]> parts; // blocks of outputs {weight view, bias view or null}, or null
    private final VectorProduct kernel; // products in Java over packed weights, or null where unavailable
    private final List<NDArray[]> halfBlocks; // float16 [out, in] on CPU: blocks widened one at a time, or null
    private final MatmulPool pool; // the threads large products split across

    /**
     * W as {@code [out, in]}, on the calling thread alone. The Linear takes the arrays over: they may be
     * closed once packed.
     */
    public Linear(NDArray weight, NDArray bias) {
        this(weight, bias, false, Quantization.NONE, MatmulPool.CALLER_ONLY);
    }

    /** {@link #Linear(NDArray, NDArray, Quantization, MatmulPool)} on the calling thread alone. */
    public Linear(NDArray weight, NDArray bias, Quantization quantization) {
        this(weight, bias, false, quantization, MatmulPool.CALLER_ONLY);
    }

    /**
     * W as {@code [out, in]}, quantized at load unless {@code quantization} is NONE, its large products split
     * across {@code pool}. Quantized weights need the {@link VectorKernels}: where they cannot run, this
     * throws IllegalStateException.
     */
    public Linear(NDArray weight, NDArray bias, Quantization quantization, MatmulPool pool) {
        this(weight, bias, false, quantization, pool);
    }

    private Linear(NDArray weight, NDArray bias, boolean inputMajor, Quantization quantization, MatmulPool pool) {
        this.inputMajor = inputMajor;
        this.out = weight.getShape().get(inputMajor ? 1 : 0);
        this.pool = pool;
        this.kernel = VectorProduct.of(weight, bias, inputMajor, quantization, pool);
        if (kernel == null && quantization != Quantization.NONE) {
            throw new IllegalStateException("QUANTIZE=" + quantization.label() + " needs the vector kernels"
                    + " (a CPU with AVX2 or wider, Java with --add-modules jdk.incubator.vector), which this JVM cannot run");
        }
        if (kernel != null) {
            // The panels hold the weights now: the checkpoint's arrays are released, so they are held once.
            weight.close();
            if (bias != null) {
                bias.close();
            }
            this.weight = null;
            this.bias = null;
            this.parts = null;
            this.halfBlocks = null;
            return;
        }
        this.weight = weight;
        this.bias = bias;
        this.parts = split(pool.parallelism());
        this.halfBlocks = weight.getDataType() == DataType.FLOAT16 && !inputMajor
                && weight.getDevice().equals(ai.djl.Device.cpu()) ? blocks(WIDENED_BLOCK_ELEMENTS) : null;
    }

    /** About 4 MB of float32 weights per widened block: it stays in cache while the product reads it. */
    private static final long WIDENED_BLOCK_ELEMENTS = 1L << 20;

    /** Whether this JVM runs the JIT compiler that the vector kernels need (see {@link VectorProduct#optimizingCompiler()}). */
    public static boolean optimizingCompiler() {
        return VectorProduct.optimizingCompiler();
    }

    /**
     * Whether decoding's products run in the hand-written {@link VectorKernels} (the JVM was started with
     * {@code --add-modules jdk.incubator.vector}, with its optimizing compiler, on a CPU with wide vectors),
     * rather than in libtorch.
     */
    public static boolean vectorKernels() {
        return VectorProduct.available();
    }

    /** W as {@code [in, out]} (GPT-2's Conv1D layout, or a transposed copy made once at load). */
    public static Linear inputMajor(NDArray weightInOut, NDArray bias) {
        return new Linear(weightInOut, bias, true, Quantization.NONE, MatmulPool.CALLER_ONLY);
    }

    /** W as {@code [in, out]}, quantized at load unless {@code quantization} is NONE, split across {@code pool}. */
    public static Linear inputMajor(NDArray weightInOut, NDArray bias, Quantization quantization, MatmulPool pool) {
        return new Linear(weightInOut, bias, true, quantization, pool);
    }

    /** How the weights are held: "float32", "float16", "int8" or "int4". */
    public String format() {
        return kernel != null ? kernel.format() : weight.getDataType().name().toLowerCase(java.util.Locale.ROOT);
    }

    private List<NDArray[]> split(int ways) {
        long out = outFeatures();
        long in = weight.getShape().get(inputMajor ? 0 : 1);
        if (ways <= 1 || out * in < MatmulPool.MIN_SPLIT_ELEMENTS || out < 2L * ways) {
            return null;
        }
        return blocks((out + ways - 1) / ways * in);
    }

    /** Views of blocks of outputs of about {@code elements} weights each. */
    private List<NDArray[]> blocks(long elements) {
        long out = outFeatures();
        long in = weight.getShape().get(inputMajor ? 0 : 1);
        List<NDArray[]> blocks = new ArrayList<>();
        long step = Math.max(1, elements / in);
        for (long from = 0; from < out; from += step) {
            long to = Math.min(out, from + step);
            // Views, not copies: rows of [out, in], or columns of [in, out] (BLAS takes the stride).
            NDArray w = weight.get(inputMajor ? new NDIndex(":, {}:{}", from, to) : new NDIndex("{}:{}", from, to));
            NDArray b = bias == null ? null : bias.get(new NDIndex("{}:{}", from, to));
            blocks.add(new NDArray[] {w, b});
        }
        return blocks;
    }

    public long outFeatures() {
        return out;
    }

    /**
     * Rows of W as {@code [out, in]} for token ids: this product's weights read as the embedding table they
     * are tied to (a language model head sharing the input embeddings). ids: [batch, seq] int64 →
     * [batch, seq, in] float32.
     */
    @Override
    public NDArray lookup(NDArray ids) {
        if (inputMajor) {
            throw new IllegalStateException("an input-major product is not an embedding table");
        }
        if (kernel == null) {
            return Embeddings.lookup(weight, ids);
        }
        long[] tokens = ids.toType(DataType.INT64, false).toLongArray();
        float[] rows = kernel.rows(tokens); // [tokens, in]
        long[] dims = ids.getShape().getShape();
        return HostCopies.write(ids.getManager(), rows, rows.length, new ai.djl.ndarray.types.Shape(dims[0], dims[1], kernel.inFeatures()));
    }

    /**
     * act(x·Wᵀ + b): in the kernels each thread applies {@code act} to its block of outputs as it finishes
     * it; elsewhere libtorch applies it to the product.
     */
    public NDArray apply(NDArray x, ElementwiseActivation act) {
        if (kernel != null) {
            return kernel.apply(x, act);
        }
        return act.apply(apply(x));
    }

    /** x: [..., in] float32 → [..., out] float32. */
    public NDArray apply(NDArray x) {
        if (kernel != null) {
            return kernel.apply(x, null);
        }
        long rows = x.getShape().size() / x.getShape().getLastDimension();
        if (halfBlocks != null) {
            return widened(x);
        }
        DataType wt = weight.getDataType();
        NDArray in = x.getDataType() == wt ? x : x.toType(wt, false);
        boolean split = parts != null && rows <= MatmulPool.MAX_SPLIT_ROWS;
        NDArray y = split ? parallel(in) : product(in, weight, bias);
        return y.getDataType() == DataType.FLOAT32 ? y : y.toType(DataType.FLOAT32, false);
    }

    private NDArray product(NDArray x, NDArray w, NDArray b) {
        if (inputMajor) {
            NDArray y = x.matMul(w);
            return b == null ? y : y.add(b);
        }
        return ai.djl.nn.core.Linear.linear(x, w, b).singletonOrThrow();
    }

    /**
     * Many rows (prefill) against float16 weights: libtorch's float16 GEMM on CPU reaches a third of its
     * float32 speed, so each block of weights is widened to float32 (in cache) and multiplied there.
     */
    private NDArray widened(NDArray x) {
        NDArray in = x.getDataType() == DataType.FLOAT32 ? x : x.toType(DataType.FLOAT32, false);
        NDArray[] pieces = new NDArray[halfBlocks.size()];
        for (int k = 0; k < pieces.length; k++) {
            NDArray[] block = halfBlocks.get(k);
            try (NDArray w = block[0].toType(DataType.FLOAT32, false);
                    NDArray b = block[1] == null ? null : block[1].toType(DataType.FLOAT32, false)) {
                pieces[k] = ai.djl.nn.core.Linear.linear(in, w, b).singletonOrThrow(); // [..., block]
            }
        }
        return pieces.length == 1 ? pieces[0] : NDArrays.concat(new NDList(pieces), -1); // [..., out]
    }

    private NDArray parallel(NDArray in) {
        NDArray[] pieces = new NDArray[parts.size()];
        pool.run(pieces.length, k -> pieces[k] = product(in, parts.get(k)[0], parts.get(k)[1]));
        NDArray joined = NDArrays.concat(new NDList(pieces), -1);
        // Pieces computed on pool threads belong to no step scope: close them here.
        for (int i = 1; i < pieces.length; i++) {
            pieces[i].close();
        }
        return joined;
    }

    private static final class NDArrays {
        static NDArray concat(NDList list, int axis) {
            return ai.djl.ndarray.NDArrays.concat(list, axis);
        }
    }
}
