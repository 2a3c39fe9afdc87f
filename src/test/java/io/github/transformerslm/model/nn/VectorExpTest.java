package io.github.transformerslm.model.nn;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.transformerslm.generation.processors.Scores;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.junit.jupiter.api.Test;

/**
 * {@link VectorExp}, and the kernels built on it: a greedy request must give the same log-probabilities
 * whether or not the JIT has compiled the code it runs through yet.
 */
class VectorExpTest {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    @Test
    void isWithinTwoUlpOfMathExp() {
        SplittableRandom random = new SplittableRandom(7);
        for (int i = 0; i < 200_000; i++) {
            float x = (float) random.nextDouble(-87.3, 88.37);
            double expected = Math.exp(x);
            float actual = VectorExp.exp(x);
            assertThat(Math.abs(actual - expected)).as("e^%s", x).isLessThanOrEqualTo(2 * Math.ulp((float) expected));
        }
    }

    @Test
    void limits() {
        assertThat(VectorExp.exp(0f)).as("e^0: the largest score's softmax term").isEqualTo(1f);
        assertThat(VectorExp.exp(-0f)).isEqualTo(1f);
        assertThat(VectorExp.exp(Float.NEGATIVE_INFINITY)).as("a masked score").isZero();
        assertThat(VectorExp.exp(-87.4f)).as("below the smallest normal result").isZero();
        assertThat(VectorExp.exp(-87.3f)).isGreaterThanOrEqualTo(Float.MIN_NORMAL);
        assertThat(VectorExp.exp(88.3f)).isFinite();
        assertThat(VectorExp.exp(88.5f)).isEqualTo(Float.POSITIVE_INFINITY);
        assertThat(VectorExp.exp(Float.POSITIVE_INFINITY)).isEqualTo(Float.POSITIVE_INFINITY);
        assertThat(VectorExp.exp(Float.NaN)).isNaN();
    }

    @Test
    void vectorAndScalarFormsGiveTheSameBits() {
        float[] x = new float[F.length() * 4096];
        SplittableRandom random = new SplittableRandom(11);
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) random.nextDouble(-100, 100);
        }
        x[0] = Float.NEGATIVE_INFINITY;
        x[1] = Float.POSITIVE_INFINITY;
        x[2] = Float.NaN;
        x[3] = 0f;
        x[4] = -0f;
        x[5] = -87.33654f;
        x[6] = 88.37626f;
        for (int round = 0; round < 20; round++) { // the first rounds before C2 compiles this, the last after
            for (int i = 0; i < x.length; i += F.length()) {
                float[] lanes = VectorExp.exp(FloatVector.fromArray(F, x, i)).toArray();
                for (int lane = 0; lane < lanes.length; lane++) {
                    int expected = Float.floatToIntBits(VectorExp.exp(x[i + lane]));
                    if (Float.floatToIntBits(lanes[lane]) != expected) {
                        assertThat(lanes[lane]).as("round %d, e^%s", round, x[i + lane]).isEqualTo(Float.intBitsToFloat(expected));
                    }
                }
            }
        }
    }

    /**
     * The kernels that take exponentials (GELU, SiLU, attention's softmax, the samplers' softmax and the
     * log-probabilities' log-sum-exp) give the same bits in a JVM that only interprets (every Vector API
     * call on its Java fallback) as here after enough calls for C2 to compile them with intrinsics.
     */
    @Test
    void kernelsGiveTheSameBitsInterpretedAndCompiled() throws Exception {
        for (int call = 0; call < 20_000; call++) {
            KernelOutputs.compute();
        }
        List<String> compiled = KernelOutputs.compute();

        List<String> interpreted = runInterpreted();

        assertThat(interpreted).hasSameSizeAs(compiled);
        for (int i = 0; i < compiled.size(); i++) {
            assertThat(interpreted.get(i)).as("output %d (interpreted, then compiled)", i).isEqualTo(compiled.get(i));
        }
    }

    private static List<String> runInterpreted() throws IOException, InterruptedException {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> command = new ArrayList<>(List.of(java, "-Xint", "--add-modules", "jdk.incubator.vector",
                "-cp", System.getProperty("java.class.path")));
        if (F.length() == 8) {
            command.add("-XX:UseAVX=2"); // the same vector width as this JVM's (the avx2 test execution)
        }
        command.add(KernelOutputs.class.getName());
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(process.exitValue()).as(output).isZero();
        return output.lines().filter(line -> line.startsWith("out ")).toList();
    }

    /** The kernels' outputs on fixed inputs, as hexadecimal float bits. */
    static final class KernelOutputs {
        public static void main(String[] args) {
            KernelOutputs.compute().forEach(System.out::println);
        }

        static List<String> compute() {
            SplittableRandom random = new SplittableRandom(5);
            List<String> out = new ArrayList<>();
            float[] activations = new float[997]; // whole vectors and a scalar tail on any vector width
            for (int i = 0; i < activations.length; i++) {
                activations[i] = (float) random.nextDouble(-12, 12);
            }
            float[] gelu = activations.clone();
            ElementwiseActivation.GELU_TANH.applyInPlace(gelu, 0, gelu.length);
            add(out, "gelu", gelu);
            float[] silu = activations.clone();
            ElementwiseActivation.SILU.applyInPlace(silu, 0, silu.length);
            add(out, "silu", silu);

            float[] weights = new float[203];
            for (int j = 0; j < weights.length; j++) {
                weights[j] = (float) random.nextDouble(-30, 8);
            }
            DecodeAttention.softmax(weights, weights.length);
            add(out, "attention softmax", weights);

            float[] logits = new float[5003];
            for (int i = 0; i < logits.length; i++) {
                logits[i] = (float) random.nextGaussian() * 4;
            }
            add(out, "sampling softmax", Scores.softmax(logits));
            out.add("out logsumexp " + Long.toHexString(Double.doubleToLongBits(Scores.logSumExp(logits))));
            return out;
        }

        private static void add(List<String> out, String name, float[] values) {
            for (int i = 0; i < values.length; i++) {
                out.add("out " + name + " " + i + " " + Integer.toHexString(Float.floatToIntBits(values[i])));
            }
        }
    }
}
