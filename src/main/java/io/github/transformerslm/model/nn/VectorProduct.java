package io.github.transformerslm.model.nn;

import io.github.transformerslm.runtime.MatmulPool;
import io.github.transformerslm.runtime.SharedChunks;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * One {@link Linear}'s product computed by {@link VectorKernels} on the {@link MatmulPool}'s threads, for any
 * number of token rows (decoding and prefill), from the weights packed once in {@link PanelWeights}. The
 * panels are split into one contiguous block per thread.
 */
final class VectorProduct {
    /**
     * Token rows one pass of a product takes: a prompt's rows go through in chunks of this many, so the
     * arrays a thread keeps stay small (their panels are then read once per chunk: a multiple of the
     * kernels' group, large enough that this costs less than the multiply-adds).
     */
    static final int CHUNK_ROWS = 64;

    private static final boolean AVAILABLE = detect();

    private final PackedMatrix weights;
    private final int in;
    private final int out;
    private final int[] bounds; // chunks of panels: [bounds[c], bounds[c+1])
    private final int ways; // threads that take the chunks

    /**
     * The arrays a product works in, reused by every product its calling thread runs: a forward
     * pass runs its products one after another, and nothing keeps them once {@link #apply} returns. Fresh
     * arrays per call (3 MB for a 16-row vocabulary projection) are garbage that a young collection
     * running mid-step promotes into the old generation.
     */
    static final class Workspace {
        float[] input = new float[0]; // [rows, in]
        float[] prepared = new float[0]; // the kernels' form of the input (PackedMatrix#prepare)
        float[] perRow = new float[CHUNK_ROWS]; // what prepare computes per row, or per row and block of inputs
        int[] quantized = new int[0]; // the input quantized to integers, where the kernels multiply integers
        float[] output = new float[0]; // [rows, panels·PANEL]
        float[] aside = new float[0]; // a worker's chunks before they are written out ([rows, panels·PANEL])
    }

    private static final ThreadLocal<Workspace> WORKSPACE = ThreadLocal.withInitial(Workspace::new);

    /** The threads a split product runs on. */
    private final MatmulPool pool;

    private VectorProduct(PackedMatrix weights, MatmulPool pool) {
        this.weights = weights;
        this.pool = pool;
        this.in = weights.in();
        this.out = weights.out();
        int panels = weights.panels();
        long size = (long) in * out;
        this.ways = size < MatmulPool.MIN_SPLIT_ELEMENTS ? 1 : Math.max(1, Math.min(pool.parallelism(), panels));
        // More chunks than threads, handed out as threads come free: a thread that starts late or runs
        // slower (a busy virtual CPU) takes fewer, instead of the others waiting for its fixed share. A chunk
        // holds whole groups of the panels a one-row kernel reads side by side: a chunk of three float panels
        // (a 768-output layer in eight chunks) was read one panel at a time, a single stream from memory, and
        // such products ran at two thirds of the others' rate.
        int group = weights.panelsPerPass();
        int units = (panels + group - 1) / group;
        int chunks = ways == 1 ? 1 : Math.min(units, ways * CHUNKS_PER_THREAD);
        this.bounds = new int[chunks + 1];
        for (int c = 1; c <= chunks; c++) {
            bounds[c] = Math.min(panels, (int) ((long) units * c / chunks) * group);
        }
    }

    /** Chunks of panels per thread of a split product. */
    static final int CHUNKS_PER_THREAD = 4;

    /**
     * Packs {@code weight} for the kernels, or returns null where they cannot serve it (no Vector API,
     * dtype, device, size); the arguments are left as they are.
     */
    static VectorProduct of(NDArray weight, NDArray bias, boolean inputMajor, Quantization quantization, MatmulPool pool) {
        boolean served = AVAILABLE
                && weight.getDevice().equals(ai.djl.Device.cpu()) // GPU weights stay with libtorch
                && kernelType(weight)
                && (bias == null || kernelType(bias))
                && weight.getShape().dimension() == 2
                && Math.min(weight.getShape().get(0), weight.getShape().get(1)) >= 2
                // one ByteBuffer and int offsets, with the last panel's padding
                && (weight.getShape().size() + (long) VectorKernels.PANEL * weight.getShape().get(inputMajor ? 0 : 1)) * 4 <= Integer.MAX_VALUE;
        if (!served) {
            return null;
        }
        PackedMatrix packed = quantization == Quantization.NONE
                ? PanelWeights.pack(weight, bias, inputMajor, weight.getManager(), pool)
                : QuantizedPanels.pack(weight, bias, inputMajor, quantization, weight.getManager(), pool);
        return packed == null ? null : new VectorProduct(packed, pool);
    }

    /** Output o's weights for token ids: [ids.length, in] float32 (an embedding table tied to this product). */
    float[] rows(long[] ids) {
        return weights.rows(ids);
    }

    int inFeatures() {
        return in;
    }

    private static boolean kernelType(NDArray a) {
        return a.getDataType() == DataType.FLOAT32 || a.getDataType() == DataType.FLOAT16;
    }

    /** How the weights are held: float32, float16, or quantized. */
    String format() {
        return weights.format();
    }

    static boolean available() {
        return AVAILABLE;
    }

    private static boolean detect() {
        if (Boolean.getBoolean("lm.vectorKernels.disabled")
                || ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()
                || !optimizingCompiler()) {
            return false;
        }
        try {
            return VectorKernels.usable();
        } catch (LinkageError e) {
            return false;
        }
    }

    /**
     * Whether this JVM runs HotSpot's optimizing compiler (C2), which alone turns Vector API calls into vector
     * instructions. Without it (-XX:TieredStopAtLevel below 4, as Spring Boot's "optimized launch" sets, or
     * -Xint) every vector is an object on the heap and the kernels run far slower than libtorch, so libtorch
     * decodes there instead.
     */
    static boolean optimizingCompiler() {
        try {
            var hotSpot = java.lang.management.ManagementFactory.getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class);
            return optimizingCompiler(Boolean.parseBoolean(hotSpot.getVMOption("TieredCompilation").getValue()),
                    Integer.parseInt(hotSpot.getVMOption("TieredStopAtLevel").getValue()),
                    System.getProperty("java.vm.info", ""));
        } catch (RuntimeException | LinkageError e) {
            return true; // not HotSpot, or no jdk.management module: nothing says the compiler is missing
        }
    }

    static boolean optimizingCompiler(boolean tieredCompilation, int tieredStopAtLevel, String vmInfo) {
        return !vmInfo.contains("interpreted mode") && (!tieredCompilation || tieredStopAtLevel >= 4);
    }

    /** x: [..., in] float32 → act([..., out]) float32 (act may be null). */
    NDArray apply(NDArray x, ElementwiseActivation act) {
        Shape shape = x.getShape();
        int rows = (int) (shape.size() / in);
        long[] dims = shape.getShape().clone();
        dims[dims.length - 1] = out;
        Workspace work = WORKSPACE.get();
        if (rows <= CHUNK_ROWS) {
            work.input = HostCopies.read(x, work.input, rows * in); // [rows, in]
            multiply(work, rows, act);
            return HostCopies.write(x.getManager(), work.output, rows * out, new Shape(dims)); // [..., out]
        }
        // A prompt (prefill) goes through the same arrays CHUNK_ROWS rows at a time, straight from x's memory
        // into the result's: whole prompts as fresh Java arrays (megabytes a product) were garbage that young
        // collections promoted while a product still held it, and the old generation grew with every prefill.
        NDArray x32 = x.getDataType() == DataType.FLOAT32 ? x : x.toType(DataType.FLOAT32, false);
        NDArray y = x.getManager().create(new Shape(dims), DataType.FLOAT32); // [..., out], uninitialised
        ByteBuffer yMemory = y.toByteBuffer(true);
        if (!yMemory.isDirect()) { // not a view: write the whole product at once instead
            y.close();
            work.input = HostCopies.read(x32, work.input, rows * in);
            multiply(work, rows, act);
            return HostCopies.write(x.getManager(), work.output, rows * out, new Shape(dims));
        }
        FloatBuffer source = x32.toByteBuffer(true).order(ByteOrder.nativeOrder()).asFloatBuffer(); // [rows, in]
        FloatBuffer target = yMemory.order(ByteOrder.nativeOrder()).asFloatBuffer(); // [rows, out]
        if (work.input.length < CHUNK_ROWS * in) {
            work.input = new float[CHUNK_ROWS * in];
        }
        for (int r0 = 0; r0 < rows; r0 += CHUNK_ROWS) {
            int n = Math.min(CHUNK_ROWS, rows - r0);
            source.get(r0 * in, work.input, 0, n * in);
            multiply(work, n, act);
            target.put(r0 * out, work.output, 0, n * out);
        }
        return y;
    }

    /** work.output[0, rows·out) = act(work.input[0, rows·in) · W + b). */
    private void multiply(Workspace work, int rows, ElementwiseActivation act) {
        int stride = weights.panels() * VectorKernels.PANEL; // y's row: every panel's columns, the padding too
        float[] kernelInput = weights.prepare(work.input, rows, work);
        if (work.output.length < rows * stride) {
            work.output = new float[rows * stride];
        }
        float[] y = work.output; // [rows, stride]; every element up to rows·stride is assigned below
        if (ways == 1) {
            compute(0, kernelInput, work.perRow, work.quantized, rows, y, stride, act);
        } else {
            split(kernelInput, work.perRow, work.quantized, rows, y, stride, act);
        }
        if (stride != out) {
            for (int r = 1; r < rows; r++) { // drop the padding columns: [rows, stride] -> [rows, out]
                System.arraycopy(y, r * stride, y, r * out, out);
            }
        }
    }

    /**
     * The chunks of panels shared between this thread and the pool's workers ({@link SharedChunks}): this
     * thread writes its chunks straight into y; a worker computes into its own array and copies a chunk
     * into y only if this thread has not taken it back.
     */
    private void split(float[] x, float[] perRow, int[] quantized, int rows, float[] y, int stride, ElementwiseActivation act) {
        SharedChunks.run(pool, bounds.length - 1, new SharedChunks.Work() {
            @Override
            public void compute(int c, boolean intoOutput) {
                VectorProduct.this.compute(c, x, perRow, quantized, rows, intoOutput ? y : aside(), stride, act);
            }

            @Override
            public void copyOut(int c) {
                float[] aside = aside();
                int from = bounds[c] * VectorKernels.PANEL;
                int width = bounds[c + 1] * VectorKernels.PANEL - from;
                for (int r = 0; r < rows; r++) {
                    System.arraycopy(aside, r * stride + from, y, r * stride + from, width);
                }
            }

            private float[] aside() {
                Workspace own = WORKSPACE.get();
                if (own.aside.length < rows * stride) {
                    own.aside = new float[rows * stride];
                }
                return own.aside;
            }
        });
    }

    private void compute(int block, float[] x, float[] perRow, int[] quantized, int rows, float[] y, int stride, ElementwiseActivation act) {
        int p0 = bounds[block];
        int p1 = bounds[block + 1];
        weights.multiply(x, perRow, quantized, rows, y, stride, p0, p1);
        if (act != null) {
            int from = p0 * VectorKernels.PANEL;
            int to = Math.min(out, p1 * VectorKernels.PANEL);
            for (int r = 0; r < rows; r++) {
                act.applyInPlace(y, r * stride + from, r * stride + to);
            }
        }
    }
}
