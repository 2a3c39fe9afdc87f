package io.github.transformerslm.weights;

import java.util.Optional;

/** The safetensors dtypes this service reads. Everything else is refused at load time. */
public enum TensorDtype {
    F32(4),
    F16(2),
    BF16(2);

    private final int bytes;

    TensorDtype(int bytes) {
        this.bytes = bytes;
    }

    public int bytes() {
        return bytes;
    }

    public static Optional<TensorDtype> fromHeader(String name) {
        for (TensorDtype d : values()) {
            if (d.name().equals(name)) {
                return Optional.of(d);
            }
        }
        return Optional.empty();
    }
}
