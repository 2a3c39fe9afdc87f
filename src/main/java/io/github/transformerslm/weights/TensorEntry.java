package io.github.transformerslm.weights;

/** One tensor of a safetensors header: where its bytes lie relative to the start of the data section. */
public record TensorEntry(String name, TensorDtype dtype, long[] shape, long begin, long end) {
    public long elementCount() {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    public long byteLength() {
        return end - begin;
    }
}
