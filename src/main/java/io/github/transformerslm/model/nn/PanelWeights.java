package io.github.transformerslm.model.nn;

import io.github.transformerslm.runtime.MatmulPool;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.ShortBuffer;

/**
 * A weight matrix packed for {@link VectorKernels}: {@code panels} blocks of {@link VectorKernels#PANEL}
 * output columns, each holding its columns for every input, input after input ({@code [panels, in, PANEL]}),
 * so that a product streams each block from start to end. The last block is padded with zero columns.
 * float16 panels interleave each input's two vectors of columns, so that one int load widens into both
 * ({@code [panels, in, PANEL/2, 2]}: column j &lt; PANEL/2 at 2j, column PANEL/2 + j at 2j + 1).
 *
 * <p>Packed once at load into an array of libtorch's; the checkpoint's array is then released, so the
 * weights are held once.
 *
 * <p>float16 weights are packed times 2^shift, 2^10 unless a weight of 2^5 or more needs less (exact: a
 * power of two moves the exponent only), with {@link #unscale} = 2^-shift to take it back, so that the
 * kernels never multiply a subnormal: they read a float16 as a float's bits, where a float16 subnormal
 * stays a float subnormal, and the Intel cores of this project's VMs take a microcode assist for every
 * multiply-add with a subnormal operand: a few tenths of a percent of subnormal weights, the usual share
 * at a standard deviation of 0.02, made a product several times slower there (docs/performance.md).
 */
final class PanelWeights implements PackedMatrix {
    private final NDArray packed; // [panels, in, PANEL] elements, float16 interleaved as above; kept referenced: w views it
    final ByteBuffer w;
    final boolean half;
    final int in;
    final int out;
    final int panels;
    /** One float per panel column, zero past {@code out} and where the layer has no bias. */
    final float[] bias;
    /** What a product of the panels is multiplied by: 2^-shift where float16 weights were packed times 2^shift, else 1. */
    final float unscale;

    private PanelWeights(NDArray packed, ByteBuffer w, boolean half, int in, int out, int panels, float[] bias, float unscale) {
        this.packed = packed;
        this.w = w;
        this.half = half;
        this.in = in;
        this.out = out;
        this.panels = panels;
        this.bias = bias;
        this.unscale = unscale;
    }

    /**
     * Packs {@code weight} ({@code [out, in]}, or {@code [in, out]} when inputMajor; float32 or float16)
     * into panels owned by {@code manager}, or returns null where libtorch gives no view of an array's
     * memory. The arguments are left as they are.
     */
    static PanelWeights pack(NDArray weight, NDArray bias, boolean inputMajor, NDManager manager, MatmulPool pool) {
        return pack(weight, bias, inputMajor, manager, true, pool);
    }

    /** As {@link #pack(NDArray, NDArray, boolean, NDManager, MatmulPool)}; liftSubnormals false keeps float16 weights as they are. */
    static PanelWeights pack(NDArray weight, NDArray bias, boolean inputMajor, NDManager manager, boolean liftSubnormals,
            MatmulPool pool) {
        int in = (int) weight.getShape().get(inputMajor ? 0 : 1);
        int out = (int) weight.getShape().get(inputMajor ? 1 : 0);
        int width = VectorKernels.PANEL;
        int panels = (out + width - 1) / width;
        int padded = panels * width;
        boolean half = weight.getDataType() == DataType.FLOAT16;
        // Copied in Java, block by block on the pool's threads: libtorch's permuting copy of the same layout
        // loaded slower.
        NDArray packed = manager.create(new Shape(panels, in, width), weight.getDataType()); // uninitialized
        ByteBuffer source = weight.toByteBuffer(true).order(ByteOrder.LITTLE_ENDIAN); // a view where contiguous
        ByteBuffer target = packed.toByteBuffer(true).order(ByteOrder.LITTLE_ENDIAN);
        if (!target.isDirect()) { // a copy, not libtorch's memory: nothing written there would reach the array
            packed.close();
            return null;
        }
        // float16 is lifted by 2^10 while it is copied, which takes every subnormal to a normal (2^-24 × 2^10
        // = 2^-14, the smallest); the copy reports the largest magnitude it met, and where a weight reached
        // 2^5 (it would pass 65504) the panels are copied again with the largest shift that keeps it finite,
        // or none past an infinity or NaN. This costs less than a scan for subnormals before the copy, which
        // mostly ran before the JIT had compiled it.
        int shift = half && liftSubnormals ? 10 : 0;
        int largest = copyAll(source, target, half, shift, inputMajor, in, out, panels, pool);
        int largestExponent = largest >>> 10; // 31: infinity or NaN
        if (shift > 0 && largestExponent + shift > 30) {
            shift = largestExponent == 31 ? 0 : 30 - largestExponent;
            copyAll(source, target, half, shift, inputMajor, in, out, panels, pool);
        }
        float[] b = new float[padded];
        if (bias != null) {
            try (NDArray widened = bias.toType(DataType.FLOAT32, true)) {
                System.arraycopy(widened.toFloatArray(), 0, b, 0, out);
            }
        }
        return new PanelWeights(packed, target, half, in, out, panels, b, Math.scalb(1f, -shift));
    }

    /**
     * Every panel, in chunks handed out as threads come free, not halves: with halves one thread could be
     * left copying long after the other had finished (a young JVM; why that core was slower was not pinned
     * down). Returns the largest float16 magnitude met (the bits less the sign, as stored), 0 for float32.
     */
    private static int copyAll(ByteBuffer source, ByteBuffer target, boolean half, int shift, boolean inputMajor,
            int in, int out, int panels, MatmulPool pool) {
        int chunks = (panels + COPY_CHUNK - 1) / COPY_CHUNK;
        java.util.concurrent.atomic.AtomicInteger next = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicInteger largest = new java.util.concurrent.atomic.AtomicInteger();
        pool.run(Math.max(1, Math.min(pool.parallelism(), chunks)), k -> {
            int most = 0;
            for (int c = next.getAndIncrement(); c < chunks; c = next.getAndIncrement()) {
                most = Math.max(most, copy(source, target, half, shift, inputMajor, in, out, c * COPY_CHUNK,
                        Math.min(panels, (c + 1) * COPY_CHUNK)));
            }
            largest.accumulateAndGet(most, Math::max);
        });
        return largest.get();
    }

    /** Panels per piece of the packing work. */
    private static final int COPY_CHUNK = 16;

    /** Inputs per block when W is {@code [in, out]}: the block's rows stay in cache while every panel takes its part. */
    private static final int INPUT_BLOCK = 64;

    /**
     * Panels [p0, p1) of W (source, as stored) into target, zeros in the padding columns. Moved as shorts
     * (a float32 is two), assembled in a Java array between bulk reads and one bulk write. W as
     * {@code [in, out]} is read a block of input rows at a time and written a block of each panel at a time,
     * so both sides move through memory in runs of kilobytes, where panel by panel it read 128 bytes from
     * each of hundreds of rows kilobytes apart.
     */
    private static int copy(ByteBuffer source, ByteBuffer target, boolean half, int shift, boolean inputMajor,
            int in, int out, int p0, int p1) {
        int largest = 0;
        int width = VectorKernels.PANEL;
        int es = half ? 1 : 2; // shorts per element
        ShortBuffer from = source.asShortBuffer();
        ShortBuffer to = target.asShortBuffer();
        int[] slot = new int[width]; // where column j lies among an input's PANEL elements
        for (int j = 0; j < width; j++) {
            slot[j] = half ? (j < width / 2 ? 2 * j : 2 * (j - width / 2) + 1) : j;
        }
        if (inputMajor) { // a row of W is an input: its columns of a panel are adjacent
            short[] block = new short[INPUT_BLOCK * width * es]; // [inputs, PANEL] elements of one panel
            short[] line = new short[width * es];
            for (int k0 = 0; k0 < in; k0 += INPUT_BLOCK) {
                int k1 = Math.min(in, k0 + INPUT_BLOCK);
                for (int p = p0; p < p1; p++) {
                    int columns = Math.min(width, out - p * width);
                    if (columns < width) {
                        java.util.Arrays.fill(block, (short) 0);
                    }
                    for (int k = k0; k < k1; k++) {
                        int at = (k - k0) * width * es;
                        if (!half) { // float32 columns keep their order
                            from.get((k * out + p * width) * es, block, at, columns * es);
                            continue;
                        }
                        from.get(k * out + p * width, line, 0, columns);
                        for (int j = 0; j < columns; j++) {
                            int magnitude = line[j] & 0x7fff;
                            largest = Math.max(largest, magnitude);
                            block[at + slot[j]] = lifted(line[j], magnitude, shift);
                        }
                    }
                    to.put((p * in + k0) * width * es, block, 0, (k1 - k0) * width * es);
                }
            }
            return largest;
        }
        short[] panel = new short[in * width * es]; // [in, PANEL] elements
        short[] line = new short[in * es];
        for (int p = p0; p < p1; p++) {
            int columns = Math.min(width, out - p * width);
            if (columns < width) {
                java.util.Arrays.fill(panel, (short) 0);
            }
            for (int j = 0; j < columns; j++) { // a row of W is an output: one of this panel's columns
                from.get((p * width + j) * in * es, line, 0, in * es);
                int at = slot[j] * es;
                if (half) {
                    for (int k = 0; k < in; k++) {
                        int magnitude = line[k] & 0x7fff;
                        largest = Math.max(largest, magnitude);
                        panel[k * width + at] = lifted(line[k], magnitude, shift);
                    }
                } else {
                    for (int k = 0; k < in; k++) {
                        panel[2 * k * width + at] = line[2 * k];
                        panel[2 * k * width + at + 1] = line[2 * k + 1];
                    }
                }
            }
            to.put(p * in * width * es, panel, 0, panel.length);
        }
        return largest;
    }

    /**
     * A float16 times 2^shift: a normal's exponent moves up (past 65504 where the caller copies again with
     * less), a subnormal is taken through a float.
     */
    private static short lifted(short value, int magnitude, int shift) {
        if (magnitude >= 0x0400) {
            return (short) (value + (shift << 10));
        }
        return magnitude == 0 || shift == 0 ? value : Float16Bits.fromFloat(Float16Bits.toFloat(value) * Math.scalb(1f, shift));
    }

    @Override
    public int in() {
        return in;
    }

    @Override
    public int out() {
        return out;
    }

    @Override
    public int panelsPerPass() {
        return VectorKernels.ONE_ROW_PANELS;
    }

    @Override
    public int panels() {
        return panels;
    }

    @Override
    public String format() {
        return half ? "float16" : "float32";
    }

    @Override
    public long bytes() {
        return w.capacity() + 4L * bias.length;
    }

    /** float16 panels read x times 2^112 ({@link VectorKernels#scaledForHalf}), with one unscale per row in perRow. */
    @Override
    public float[] prepare(float[] x, int rows, VectorProduct.Workspace work) {
        if (!half) {
            return x;
        }
        if (work.perRow.length < rows) {
            work.perRow = new float[rows];
        }
        float[] unscale = work.perRow;
        work.prepared = VectorKernels.scaledForHalf(x, rows, in, work.prepared, unscale);
        if (this.unscale != 1f) {
            for (int r = 0; r < rows; r++) {
                unscale[r] *= this.unscale; // powers of two: exact, and the sums keep their bits
            }
        }
        return work.prepared;
    }

    @Override
    public void multiply(float[] x, float[] perRow, int[] quantized, int rows, float[] y, int yStride, int p0, int p1) {
        VectorKernels.multiply(w, half, bias, in, x, half ? perRow : null, rows, y, yStride, p0, p1);
    }

    @Override
    public float weight(int o, int i) {
        return VectorKernels.weight(w, half, in, o, i) * unscale; // exact: a power of two
    }
}
