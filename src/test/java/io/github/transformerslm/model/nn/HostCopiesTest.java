package io.github.transformerslm.model.nn;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.transformerslm.runtime.TorchRuntime;
import org.junit.jupiter.api.Test;

/** One-copy crossings between tensors and arrays give what DJL's own two-copy ones give, views included. */
class HostCopiesTest {
    @Test
    void readsContiguousTransposedSlicedAndHalfTensorsInLogicalOrder() {
        TorchRuntime.start(1);
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = m.arange(0f, 24f).reshape(2, 3, 4);
            NDArray[] cases = {x, x.transpose(0, 2, 1), x.get(new NDIndex(":, 1:, :")), x.toType(DataType.FLOAT16, false),
                    x.get(new NDIndex("1"))};
            for (NDArray c : cases) {
                NDArray expected = c.getDataType() == DataType.FLOAT32 ? c : c.toType(DataType.FLOAT32, false);
                assertThat(HostCopies.read(c)).as("%s", c.getShape()).containsExactly(expected.toFloatArray());
            }
            float[] reused = new float[100];
            assertThat(HostCopies.read(x, reused, 24)).isSameAs(reused);
            assertThat(java.util.Arrays.copyOf(reused, 24)).containsExactly(x.toFloatArray());
        }
    }

    @Test
    void writesTheFirstValuesOfAnArrayAsATensorOfTheShape() {
        TorchRuntime.start(1);
        try (NDManager m = NDManager.newBaseManager()) {
            float[] y = {1, 2, 3, 4, 5, 6, 99, 99};
            NDArray t = HostCopies.write(m, y, 6, new Shape(2, 3));
            assertThat(t.getShape()).isEqualTo(new Shape(2, 3));
            assertThat(t.getDataType()).isEqualTo(DataType.FLOAT32);
            assertThat(t.toFloatArray()).containsExactly(1, 2, 3, 4, 5, 6);
            y[0] = -1; // the tensor owns a copy
            assertThat(t.getFloat(0, 0)).isEqualTo(1f);
        }
    }
}
