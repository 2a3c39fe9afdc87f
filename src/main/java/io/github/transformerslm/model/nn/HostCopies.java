package io.github.transformerslm.model.nn;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * Float tensors to Java arrays and back with one copy each. DJL's {@code toFloatArray} and
 * {@code create(float[])} go through a freshly allocated direct buffer (two copies and an allocation per
 * call); a decode step makes about fifty such crossings, enough for the copies to show in a step's time.
 */
public final class HostCopies {
    private HostCopies() {}

    /** x's first {@code size} values, as float32, into {@code into} (grown if short); returns the array used. */
    public static float[] read(NDArray x, float[] into, int size) {
        float[] target = into != null && into.length >= size ? into : new float[size];
        floats(x).get(target, 0, size);
        return target;
    }

    /**
     * x's values as float32, in row-major order: a view of the tensor's memory where libtorch allows one
     * (float32, contiguous, on the CPU), else a copy.
     */
    public static FloatBuffer floats(NDArray x) {
        NDArray x32 = x.getDataType() == DataType.FLOAT32 ? x : x.toType(DataType.FLOAT32, false);
        return x32.toByteBuffer(x32.getDevice().equals(Device.cpu())).order(ByteOrder.nativeOrder()).asFloatBuffer();
    }

    /**
     * x's own memory as float32, to write into, or null where libtorch gives no view of it (not float32, not
     * contiguous, not on the CPU): writes through the buffer change x.
     */
    public static FloatBuffer memory(NDArray x) {
        if (x.getDataType() != DataType.FLOAT32 || !x.getDevice().equals(Device.cpu())) {
            return null;
        }
        ByteBuffer memory = x.toByteBuffer(true);
        return memory.isDirect() ? memory.order(ByteOrder.nativeOrder()).asFloatBuffer() : null;
    }

    /** All of x's values as a new float32 array. */
    public static float[] read(NDArray x) {
        return read(x, null, Math.toIntExact(x.size()));
    }

    /** y[0, size) as a new float32 tensor of {@code shape}, written into the memory libtorch allocated for it. */
    public static NDArray write(NDManager manager, float[] y, int size, Shape shape) {
        if (manager.getDevice().equals(Device.cpu())) {
            NDArray out = manager.create(shape, DataType.FLOAT32); // uninitialised
            FloatBuffer memory = memory(out);
            if (memory != null) {
                memory.put(y, 0, size);
                return out;
            }
            out.close();
        }
        return manager.create(FloatBuffer.wrap(y, 0, size), shape);
    }
}
