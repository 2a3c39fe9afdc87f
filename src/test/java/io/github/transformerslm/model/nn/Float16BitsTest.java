package io.github.transformerslm.model.nn;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.transformerslm.runtime.TorchRuntime;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The float16 conversions the KV cache of a float16 model is written and read with. */
class Float16BitsTest {

    @Test
    void everyFiniteFloat16SurvivesTheRoundTrip() {
        for (int h = 0; h < 0x10000; h++) {
            short bits = (short) h;
            float f = Float16Bits.toFloat(bits);
            if ((h & 0x7c00) == 0x7c00) { // infinities and NaNs
                assertThat(Float.isNaN(f) || Float.isInfinite(f)).as("0x%04x", h).isTrue();
                continue;
            }
            assertThat(Float16Bits.fromFloat(f)).as("0x%04x (%s)", h, f).isEqualTo(bits);
        }
        assertThat(Float16Bits.toFloat((short) 0x0001)).isEqualTo(0x1.0p-24f); // the smallest subnormal
        assertThat(Float16Bits.toFloat((short) 0x7bff)).isEqualTo(65504f);
        assertThat(Float16Bits.toFloat((short) 0xc000)).isEqualTo(-2f);
    }

    @Test
    void roundsAsLibtorchsCastDoes() {
        TorchRuntime.start(1);
        // Values across float16's normal and subnormal ranges, halfway cases among them.
        SplittableRandom random = new SplittableRandom(5);
        int n = 200_000;
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            float magnitude = (float) Math.scalb(1 + random.nextDouble(), random.nextInt(-27, 16)); // 2^-27 .. 2^16
            values[i] = random.nextBoolean() ? magnitude : -magnitude;
            if (i % 7 == 0) { // exactly halfway between two float16 values
                short below = Float16Bits.fromFloat(values[i]);
                float next = Float16Bits.toFloat((short) (below + 1));
                float here = Float16Bits.toFloat(below);
                if (Math.abs(next) <= Float16Bits.MAX && !Float.isNaN(next)) {
                    values[i] = (here + next) / 2;
                }
            }
            values[i] = Math.max(-Float16Bits.MAX, Math.min(Float16Bits.MAX, values[i]));
        }
        try (NDManager m = NDManager.newBaseManager()) {
            ByteBuffer cast = m.create(values, new Shape(n)).toType(DataType.FLOAT16, false).toByteBuffer()
                    .order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < n; i++) {
                assertThat(Float16Bits.fromFloat(values[i])).as("%s", values[i]).isEqualTo(cast.getShort(2 * i));
            }
        }
    }

    @Test
    void saturatesWhereACastWouldOverflow() {
        assertThat(Float16Bits.fromFloat(65519f)).isEqualTo((short) 0x7bff); // still rounds down to 65504
        assertThat(Float16Bits.fromFloat(65520f)).isEqualTo((short) 0x7bff); // would round to infinity
        assertThat(Float16Bits.fromFloat(1e9f)).isEqualTo((short) 0x7bff);
        assertThat(Float16Bits.fromFloat(Float.NEGATIVE_INFINITY)).isEqualTo((short) 0xfbff);
        assertThat(Float.isNaN(Float16Bits.toFloat(Float16Bits.fromFloat(Float.NaN)))).isTrue();
        assertThat(Float16Bits.fromFloat(0x1.0p-25f)).as("halfway to the smallest subnormal: to even, zero").isEqualTo((short) 0);
        assertThat(Float16Bits.fromFloat(0x1.8p-25f)).isEqualTo((short) 1);
        assertThat(Float16Bits.fromFloat(-0f)).isEqualTo((short) 0x8000);
    }
}
