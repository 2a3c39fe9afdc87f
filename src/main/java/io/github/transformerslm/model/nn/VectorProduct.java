package io.github.transformerslm.model.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * One {@link Linear}'s product for a few token rows (decoding), computed by {@link VectorKernels} on the
 * {@link MatmulPool}'s threads straight from the weight's memory, which libtorch shares with us: no copy
 * of the weights is made. Outputs are split into one contiguous block per thread.
 */
final class VectorProduct {
    /** Up to this many rows the hand-written kernels beat libtorch on this machine kind (measured). */
    static final int MAX_ROWS = 32;

    private static final boolean AVAILABLE = detect();

    private final NDArray weight; // kept referenced: the buffers below view its memory
    private final NDArray bias;
    private final ByteBuffer w;
    private final ByteBuffer b;
    private final boolean half;
    private final boolean biasHalf;
    private final boolean inputMajor;
    private final int in;
    private final int out;
    private final int[] bounds; // blocks of outputs (or of inputs when inputMajor): [bounds[k], bounds[k+1])

    /**
     * The arrays one product works in, reused by every product its calling thread runs: a forward pass
     * runs its products one after another, and nothing keeps them once {@link #apply} returns. Fresh
     * arrays per call (3 MB for a 16-row vocabulary projection) are garbage that a young collection
     * running mid-step promotes into the old generation; arrays per product kept 24 MB of the Java heap
     * for GPT-2 small at 16 rows, the largest product's alone (the vocabulary's) is 3 MB.
     */
    private static final class Workspace {
        float[] input = new float[0]; // [rows, in]
        float[] interleaved = new float[0]; // [rows, in], float16 kernels' input order and scale
        float[] unscale = new float[MAX_ROWS]; // [rows], float16 kernels' per-row factor
        float[] output = new float[0]; // [rows, out]
        float[][] partials = new float[0][]; // per input block: inputMajor partial sums [rows, out]

        /** Partial sums for {@code blocks} input blocks of {@code size} each (the array may hold more). */
        float[][] partials(int blocks, int size) {
            if (partials.length < blocks) {
                partials = java.util.Arrays.copyOf(partials, blocks);
            }
            for (int k = 0; k < blocks; k++) {
                if (partials[k] == null || partials[k].length < size) {
                    partials[k] = new float[size];
                }
            }
            return partials;
        }
    }

    private static final ThreadLocal<Workspace> WORKSPACE = ThreadLocal.withInitial(Workspace::new);

    private VectorProduct(NDArray weight, NDArray bias, boolean inputMajor, ByteBuffer w, ByteBuffer b) {
        this.weight = weight;
        this.bias = bias;
        this.w = w;
        this.b = b;
        this.half = weight.getDataType() == DataType.FLOAT16;
        this.biasHalf = bias != null && bias.getDataType() == DataType.FLOAT16;
        this.inputMajor = inputMajor;
        Shape s = weight.getShape();
        this.in = (int) s.get(inputMajor ? 0 : 1);
        this.out = (int) s.get(inputMajor ? 1 : 0);
        long size = (long) in * out;
        // Output-major weights are split by outputs, input-major ones by inputs (each thread then streams
        // whole contiguous rows; splitting their columns made two threads slower than one).
        int extent = inputMajor ? in : out;
        int ways = size < MatmulPool.MIN_SPLIT_ELEMENTS ? 1 : Math.min(MatmulPool.parallelism(), Math.max(1, extent / 64));
        this.bounds = new int[ways + 1];
        // Block edges on multiples of 64: whole cache lines per thread.
        int step = ((extent + ways - 1) / ways + 63) / 64 * 64;
        for (int k = 1; k <= ways; k++) {
            bounds[k] = Math.min(extent, bounds[k - 1] + step);
        }
    }

    /** The kernels for this weight, or null where they cannot serve it (no Vector API, dtype, size). */
    static VectorProduct of(NDArray weight, NDArray bias, boolean inputMajor) {
        boolean served = AVAILABLE
                && weight.getDevice().equals(ai.djl.Device.cpu()) // GPU weights stay with libtorch
                && kernelType(weight)
                && (!inputMajor || weight.getDataType() == DataType.FLOAT32) // float16 Conv1D is transposed at load
                && (bias == null || kernelType(bias))
                && weight.getShape().dimension() == 2
                && weight.getShape().size() * 4 <= Integer.MAX_VALUE; // one ByteBuffer, int offsets
        if (!served) {
            return null;
        }
        // Weights are contiguous (ModelWeights makes them so): these are views of their memory, not copies.

        ByteBuffer w = weight.toByteBuffer(true);
        ByteBuffer b = bias == null ? null : bias.toByteBuffer(true);
        if (!w.isDirect() || (b != null && !b.isDirect())) {
            return null;
        }
        return new VectorProduct(weight, bias, inputMajor, w, b);
    }

    private static boolean kernelType(NDArray a) {
        return a.getDataType() == DataType.FLOAT32 || a.getDataType() == DataType.FLOAT16;
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
     * -Xint) every vector is an object on the heap and the kernels run far slower than libtorch (a GPT-2-small
     * warm-up of eight tokens took 37 s instead of 1.1 s; libtorch decodes there at about a third of the kernels' speed).
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

    /** x: [..., in] float32 with at most {@link #MAX_ROWS} rows → act([..., out]) float32 (act may be null). */
    NDArray apply(NDArray x, ElementwiseActivation act) {
        Shape shape = x.getShape();
        int rows = (int) (shape.size() / in);
        Workspace work = WORKSPACE.get();
        float[] input = work.input = HostCopies.read(x, work.input, rows * in); // [rows, in]
        float[] unscale = half ? work.unscale : null;
        float[] kernelInput = half ? (work.interleaved = VectorKernels.halfInput(input, rows, in, work.interleaved, unscale)) : input;
        if (work.output.length < rows * out) {
            work.output = new float[rows * out];
        }
        float[] y = work.output; // [rows, out]; every element is assigned below
        int ways = bounds.length - 1;
        float[][] partials = inputMajor ? work.partials(ways, rows * out) : null;
        MatmulPool.run(ways, block -> compute(block, kernelInput, unscale, rows, y, partials, act));
        if (inputMajor) {
            // Partial sums are added by column blocks, one per thread, the activation applied there too.
            MatmulPool.run(ways, block -> sumPartials(rows, y, partials, ways, columnEdge(block, ways), columnEdge(block + 1, ways), act));
        }
        long[] dims = shape.getShape().clone();
        dims[dims.length - 1] = out;
        return HostCopies.write(x.getManager(), y, rows * out, new Shape(dims)); // [..., out]
    }

    private void compute(int block, float[] x, float[] unscale, int rows, float[] y, float[][] partials, ElementwiseActivation act) {
        int from = bounds[block];
        int to = bounds[block + 1];
        if (inputMajor) {
            VectorKernels.inputMajor(w, in, out, x, rows, partials[block], from, to);
        } else {
            VectorKernels.outputMajor(w, half, b, biasHalf, in, out, x, unscale, rows, y, from, to);
            if (act != null) {
                for (int r = 0; r < rows; r++) {
                    act.applyInPlace(y, r * out + from, r * out + to);
                }
            }
        }
    }

    /** Column k of {@code ways} equal blocks of the outputs, on a multiple of 16. */
    private int columnEdge(int k, int ways) {
        return k == ways ? out : (int) ((long) out * k / ways) / 16 * 16;
    }

    /** y[:, from:to] = act(Σ partial sums of the input blocks, in block order, + b). */
    private void sumPartials(int rows, float[] y, float[][] partials, int blocks, int from, int to, ElementwiseActivation act) {
        for (int r = 0; r < rows; r++) {
            for (int o = from; o < to; o++) {
                int at = r * out + o;
                float s = partials[0][at];
                for (int k = 1; k < blocks; k++) {
                    s += partials[k][at];
                }
                y[at] = s + VectorKernels.biasAt(b, biasHalf, o);
            }
            if (act != null) {
                act.applyInPlace(y, r * out + from, r * out + to);
            }
        }
    }
}
