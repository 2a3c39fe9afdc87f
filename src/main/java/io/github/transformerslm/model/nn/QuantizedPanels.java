package io.github.transformerslm.model.nn;

import io.github.transformerslm.runtime.MatmulPool;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A weight matrix quantized at load to 8 or 4 bits with one float16 scale per output and block of
 * {@link Quantization#BLOCK} inputs, in the panel order of {@link PanelWeights}: panel after panel, and in
 * each panel block after block, a block being its PANEL scales (int lane j holding those of columns j and
 * L + j) followed by its codes.
 *
 * <p>The quantization is llama.cpp's: int8 as Q8_0 (scale = largest magnitude / 127, code = the rounded
 * quotient), int4 as Q4_0 (scale = the weight of largest magnitude / -8, code = the rounded quotient clamped
 * to [-8, 7]), the codes computed with the float32 scale and the scale stored as float16, as llama.cpp
 * stores it (a weight is then code × the float16 scale: 1.0625 and 0.5625 bytes a weight, as there). Codes
 * are stored offset to unsigned (int8 + 128, int4 + 8).
 *
 * <p>Codes are laid out for {@link QuantizedKernels}: each int lane j of a block's row of L ints holds
 * columns j and L + j of 32 / (2·bits) consecutive inputs, byte (int8) or nibble (int4) n = 2m + h holding
 * input m's column h·L + j. One int vector load thus carries every code that one step of the kernel
 * multiplies, and each is taken out with one mask (see {@link QuantizedKernels}).
 *
 * <p>Inputs past the last whole block are padded with zero codes (the offset), so every block is whole.
 */
final class QuantizedPanels implements PackedMatrix {
    private final NDArray packed; // owns the memory w views; kept referenced
    final ByteBuffer w;
    final Quantization quantization;
    final int in;
    final int out;
    final int panels;
    /** Blocks of {@link Quantization#BLOCK} inputs per panel, the last one padded. */
    final int blocks;
    /** Bytes of one block of one panel: PANEL float16 scales, then BLOCK·PANEL codes. */
    final int blockBytes;
    /** One float per panel column, zero past {@code out} and where the layer has no bias. */
    final float[] bias;
    /** What the codes are offset by: 128 for int8, 8 for int4. */
    final int offset;

    private QuantizedPanels(NDArray packed, ByteBuffer w, Quantization quantization, int in, int out, int panels, float[] bias) {
        this.packed = packed;
        this.w = w;
        this.quantization = quantization;
        this.in = in;
        this.out = out;
        this.panels = panels;
        this.blocks = (in + Quantization.BLOCK - 1) / Quantization.BLOCK;
        this.blockBytes = blockBytes(quantization);
        this.bias = bias;
        this.offset = quantization == Quantization.INT8 ? 128 : 8;
    }

    static int blockBytes(Quantization quantization) {
        return 2 * VectorKernels.PANEL + Quantization.BLOCK * VectorKernels.PANEL * quantization.bits() / 8;
    }

    /**
     * Quantizes {@code weight} ({@code [out, in]}, or {@code [in, out]} when inputMajor; any float dtype)
     * into panels owned by {@code manager}, or returns null where libtorch gives no view of an array's
     * memory. The arguments are left as they are.
     */
    static QuantizedPanels pack(NDArray weight, NDArray bias, boolean inputMajor, Quantization quantization, NDManager manager,
            MatmulPool pool) {
        if (quantization == Quantization.NONE) {
            throw new IllegalArgumentException("not a quantization: " + quantization);
        }
        int in = (int) weight.getShape().get(inputMajor ? 0 : 1);
        int out = (int) weight.getShape().get(inputMajor ? 1 : 0);
        int width = VectorKernels.PANEL;
        int panels = (out + width - 1) / width;
        int blocks = (in + Quantization.BLOCK - 1) / Quantization.BLOCK;
        long size = (long) panels * blocks * blockBytes(quantization);
        if (size > Integer.MAX_VALUE) {
            return null;
        }
        NDArray packed = manager.create(new Shape(size), DataType.INT8); // uninitialized
        ByteBuffer target = packed.toByteBuffer(true).order(ByteOrder.LITTLE_ENDIAN);
        if (!target.isDirect()) {
            packed.close();
            return null;
        }
        // float32 for reading: a float16 checkpoint is widened (a transient copy, closed below).
        NDArray single = weight.getDataType() == DataType.FLOAT32 ? weight : weight.toType(DataType.FLOAT32, false);
        try {
            FloatBuffer source = single.toByteBuffer(true).order(ByteOrder.nativeOrder()).asFloatBuffer();
            AtomicInteger next = new AtomicInteger();
            pool.run(Math.max(1, Math.min(pool.parallelism(), panels)), k -> {
                float[] columns = new float[width * blocks * Quantization.BLOCK]; // [PANEL, padded in]
                byte[] block = new byte[blockBytes(quantization)];
                for (int p = next.getAndIncrement(); p < panels; p = next.getAndIncrement()) {
                    gather(source, inputMajor, in, out, p, columns, blocks * Quantization.BLOCK);
                    for (int b = 0; b < blocks; b++) {
                        quantizeBlock(columns, blocks * Quantization.BLOCK, b, quantization, block);
                        target.put((p * blocks + b) * block.length, block, 0, block.length);
                    }
                }
            });
        } finally {
            if (single != weight) {
                single.close();
            }
        }
        float[] b = new float[panels * width];
        if (bias != null) {
            try (NDArray widened = bias.toType(DataType.FLOAT32, true)) {
                System.arraycopy(widened.toFloatArray(), 0, b, 0, out);
            }
        }
        return new QuantizedPanels(packed, target, quantization, in, out, panels, b);
    }

    /** Panel p's columns of W into columns[j·stride + k], zeros past {@code in} and past {@code out}. */
    private static void gather(FloatBuffer source, boolean inputMajor, int in, int out, int p, float[] columns, int stride) {
        int width = VectorKernels.PANEL;
        java.util.Arrays.fill(columns, 0f);
        int first = p * width;
        int count = Math.min(width, out - first);
        if (inputMajor) { // [in, out]: an input's columns of this panel are adjacent
            float[] line = new float[width];
            for (int k = 0; k < in; k++) {
                source.get(k * out + first, line, 0, count);
                for (int j = 0; j < count; j++) {
                    columns[j * stride + k] = line[j];
                }
            }
        } else { // [out, in]: a column is a row of W
            for (int j = 0; j < count; j++) {
                source.get((first + j) * in, columns, j * stride, in);
            }
        }
    }

    /** Block b of the panel's columns (columns[j·stride + k]) as its scales and codes, into block. */
    private static void quantizeBlock(float[] columns, int stride, int b, Quantization quantization, byte[] block) {
        int width = VectorKernels.PANEL;
        int lanes = width / 2;
        ByteBuffer out = ByteBuffer.wrap(block).order(ByteOrder.LITTLE_ENDIAN);
        int[] codes = new int[Quantization.BLOCK * width]; // [k, j]
        for (int j = 0; j < width; j++) {
            int from = j * stride + b * Quantization.BLOCK;
            float scale = scale(columns, from, quantization);
            // Stored as float16, as llama.cpp stores it; the codes come from the float32 scale, as there.
            out.putShort(4 * (j % lanes) + 2 * (j / lanes), Float16Bits.fromFloat(scale));
            float inverse = scale == 0f ? 0f : 1f / scale;
            for (int k = 0; k < Quantization.BLOCK; k++) {
                codes[k * width + j] = code(columns[from + k] * inverse, quantization);
            }
        }
        int perInt = 32 / (2 * quantization.bits()); // inputs one int lane carries
        int bits = quantization.bits();
        for (int t = 0; t < Quantization.BLOCK / perInt; t++) {
            for (int j = 0; j < lanes; j++) {
                int lane = 0;
                for (int m = 0; m < perInt; m++) {
                    for (int h = 0; h < 2; h++) {
                        int n = 2 * m + h;
                        lane |= codes[(t * perInt + m) * width + h * lanes + j] << (bits * n);
                    }
                }
                out.putInt(2 * width + 4 * (t * lanes + j), lane);
            }
        }
    }

    /** int8: the largest magnitude / 127; int4: the weight of largest magnitude / -8 (llama.cpp's Q8_0, Q4_0). */
    private static float scale(float[] values, int from, Quantization quantization) {
        float largest = 0f;
        float signed = 0f;
        for (int k = from; k < from + Quantization.BLOCK; k++) {
            float a = Math.abs(values[k]);
            if (a > largest) {
                largest = a;
                signed = values[k];
            }
        }
        return quantization == Quantization.INT8 ? largest / 127f : signed / -8f;
    }

    /** The offset code of a weight divided by its block's scale. */
    private static int code(float quotient, Quantization quantization) {
        if (quantization == Quantization.INT8) {
            return Math.max(-127, Math.min(127, Math.round(quotient))) + 128;
        }
        return Math.max(0, Math.min(15, (int) Math.floor(quotient + 8.5f)));
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
    public int panels() {
        return panels;
    }

    @Override
    public String format() {
        return quantization.label();
    }

    @Override
    public long bytes() {
        return w.capacity() + 4L * bias.length;
    }

    /**
     * One row: {@link QuantizedKernels#prepareRow} (int8) or {@link QuantizedKernels#quantizeRow} (int4).
     * Several rows: x as it is (int8) or on its 8-bit grid (int4); each thread widens a panel at a time and
     * multiplies every row against it.
     */
    @Override
    public float[] prepare(float[] x, int rows, VectorProduct.Workspace work) {
        if (rows > 1) {
            if (quantization == Quantization.INT4) {
                work.prepared = QuantizedKernels.roundToInt8Grid(x, rows, in, work.prepared);
                return work.prepared;
            }
            return x;
        }
        if (work.perRow.length < blocks) {
            work.perRow = new float[blocks];
        }
        if (quantization == Quantization.INT4) {
            int size = QuantizedKernels.quantizedRowInts(blocks);
            if (work.quantized.length < size) {
                work.quantized = new int[size];
            }
            QuantizedKernels.quantizeRow(x, in, blocks, work.quantized, work.perRow);
            return x;
        }
        work.prepared = QuantizedKernels.prepareRow(x, in, blocks, offset, work.prepared, work.perRow);
        return work.prepared;
    }

    @Override
    public void multiply(float[] x, float[] perRow, int[] quantized, int rows, float[] y, int yStride, int p0, int p1) {
        QuantizedKernels.multiply(this, x, perRow, quantized, rows, y, yStride, p0, p1);
    }

    /** The weight of output o and input i, dequantized. */
    @Override
    public float weight(int o, int i) {
        int width = VectorKernels.PANEL;
        int lanes = width / 2;
        int p = o / width;
        int j = o % width;
        int b = i / Quantization.BLOCK;
        int k = i % Quantization.BLOCK;
        int at = (p * blocks + b) * blockBytes;
        float scale = Float16Bits.toFloat(w.getShort(at + 4 * (j % lanes) + 2 * (j / lanes)));
        int bits = quantization.bits();
        int perInt = 32 / (2 * bits);
        int lane = w.getInt(at + 2 * width + 4 * ((k / perInt) * lanes + j % lanes));
        int n = 2 * (k % perInt) + j / lanes;
        int code = (lane >>> (bits * n)) & ((1 << bits) - 1);
        return (code - offset) * scale;
    }
}
