package io.github.transformerslm.model.nn;

import io.github.transformerslm.runtime.MatmulPool;
import io.github.transformerslm.runtime.TestPools;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.transformerslm.serving.EngineTest;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * The hand-written decoding products against libtorch's, on shapes that exercise every tail (inputs
 * not a multiple of the vector pairs, outputs not a multiple of the thread blocks), both weight layouts,
 * float16 weights, with and without bias, alone and split across two threads.
 */
class VectorKernelsTest extends EngineTest {
    @Test
    void theTestJvmUsesTheVectorKernels() {
        // Surefire, spring-boot:run, the benchmark and the Docker image all pass --add-modules
        // jdk.incubator.vector; without it every product silently falls back to libtorch.
        assertThat(Linear.vectorKernels()).isTrue();
    }

    @Test
    void theAvx2RunUsesEightFloatVectors() {
        // The pom's avx2-vectors execution holds the JVM to AVX2 so that the kernels' narrow path is tested
        // on AVX-512 machines too: it says so with this property, and the JVM must have honoured the flag.
        String expected = System.getProperty("lm.test.floatLanes");
        if (expected != null) {
            assertThat(jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.length()).isEqualTo(Integer.parseInt(expected));
        }
        assertThat(jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.length()).isGreaterThanOrEqualTo(8);
    }

    @Test
    void withoutTheOptimizingCompilerDecodingStaysWithLibtorch() throws Exception {
        // Without C2 every vector is a heap object: Spring Boot's optimized launch (-XX:TieredStopAtLevel=1)
        // made a GPT-2-small eight-token warm-up take 37 s instead of 1.1 s. Such a JVM must keep libtorch's products.
        assertThat(VectorProduct.optimizingCompiler()).as("this JVM").isTrue();
        assertThat(VectorProduct.optimizingCompiler(true, 1, "mixed mode, sharing")).isFalse();
        assertThat(VectorProduct.optimizingCompiler(true, 3, "mixed mode")).isFalse();
        assertThat(VectorProduct.optimizingCompiler(true, 4, "mixed mode")).isTrue();
        assertThat(VectorProduct.optimizingCompiler(false, 1, "mixed mode")).as("C2 alone").isTrue();
        assertThat(VectorProduct.optimizingCompiler(true, 4, "interpreted mode")).isFalse();
        assertThat(probe("-XX:TieredStopAtLevel=1")).isEqualTo("kernels=false");
        assertThat(probe("-XX:TieredStopAtLevel=4")).isEqualTo("kernels=true");
    }

    @Test
    void springBootRunKeepsTheOptimizingCompiler() throws Exception {
        // mvn spring-boot:run (the README's first command) adds -XX:TieredStopAtLevel=1 unless told not to.
        String pom = java.nio.file.Files.readString(java.nio.file.Path.of("pom.xml"));
        String plugin = pom.substring(pom.indexOf("<artifactId>spring-boot-maven-plugin</artifactId>"));
        plugin = plugin.substring(0, plugin.indexOf("</plugin>"));
        assertThat(plugin).contains("<optimizedLaunch>false</optimizedLaunch>");
        String jvm = plugin.substring(plugin.indexOf("<jvmArguments>"), plugin.indexOf("</jvmArguments>"));
        assertThat(jvm).contains("--add-modules jdk.incubator.vector").doesNotContain("TieredStopAtLevel");
    }

    /** Whether a JVM started with {@code option} (and this test's class path) would use the vector kernels. */
    private static String probe(String option) throws Exception {
        Process p = new ProcessBuilder(java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                option, "--add-modules", "jdk.incubator.vector", "-cp", System.getProperty("java.class.path"),
                KernelProbe.class.getName()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(out).isZero();
        return out.lines().filter(l -> l.startsWith("kernels=")).findFirst().orElse(out);
    }

    static final class KernelProbe {
        public static void main(String[] args) {
            System.out.println("kernels=" + VectorProduct.available());
        }
    }

    @Test
    void theTestsRunTheKernelsWithBoundsChecks() {
        // The service turns the Vector API's bounds checks off (VectorBoundsChecks); the tests keep them, so
        // that a kernel indexing past its array or buffer throws here instead of reading stray memory there.
        assertThat(VectorBoundsChecks.on()).isTrue();
    }

    @ParameterizedTest(name = "in={0} out={1} rows={2} {3} inputMajor={4} bias={5} split={6}")
    @CsvSource({
        "768, 2304, 1, FLOAT32, false, true, 1",
        "768, 2304, 1, FLOAT32, true, true, 2",
        "771, 1000, 3, FLOAT32, false, true, 2",
        "771, 1000, 5, FLOAT32, true, true, 2",
        "1000, 771, 4, FLOAT32, true, false, 1",
        "768, 2304, 1, FLOAT16, false, true, 2",
        "771, 1000, 3, FLOAT16, false, true, 2",
        "1000, 771, 7, FLOAT16, false, false, 1",
        "771, 1000, 8, FLOAT32, false, true, 2",
        "771, 1000, 13, FLOAT32, false, false, 2",
        "771, 1000, 13, FLOAT16, false, true, 2",
        "768, 1000, 32, FLOAT16, false, false, 1",
        "771, 1000, 13, FLOAT32, true, true, 2",
        // float16 rows of 1538 bytes: the last chunk's last touched line starts 2 bytes before the buffer ends
        "769, 1001, 4, FLOAT16, false, true, 1",
        // an odd number of outputs for one to three token rows: the outputs are taken in pairs, the last alone
        "771, 1001, 1, FLOAT32, false, true, 1",
        "771, 1001, 2, FLOAT16, false, true, 1",
        "768, 1003, 3, FLOAT32, false, false, 2",
        // float16 packed from GPT-2's [in, out] layout; prefill-sized products (fresh arrays, many groups)
        "771, 1000, 5, FLOAT16, true, true, 2",
        "771, 1003, 70, FLOAT16, true, true, 2",
        "768, 1003, 70, FLOAT32, false, true, 2",
        "771, 1000, 70, FLOAT32, true, false, 1",
    })
    void matchesLibtorch(int in, int out, int rows, DataType dtype, boolean inputMajor, boolean withBias, int split) {
        MatmulPool pool = TestPools.of(split);
        try (NDManager m = manager.newSubManager()) {
            NDArray w = m.randomNormal(0, 0.05f, new Shape(out, in), DataType.FLOAT32).toType(dtype, false);
            NDArray b = withBias ? m.randomNormal(0, 0.5f, new Shape(out), DataType.FLOAT32).toType(dtype, false) : null;
            NDArray x = m.randomNormal(new Shape(1, rows, in)); // [batch, seq, in]
            NDArray expected = x.matMul(w.toType(DataType.FLOAT32, false).transpose()); // [1, rows, out]
            if (b != null) {
                expected = expected.add(b.toType(DataType.FLOAT32, false));
            }
            NDArray stored = inputMajor ? w.transpose().reshape(-1).reshape(in, out) : w; // contiguous [in, out]
            Linear linear = inputMajor ? Linear.inputMajor(stored, b, Quantization.NONE, pool) : new Linear(stored, b, Quantization.NONE, pool); // takes the arrays over
            NDArray actual = linear.apply(x);

            assertThat(actual.getShape()).isEqualTo(new Shape(1, rows, out));
            assertThat(actual.getDataType()).isEqualTo(DataType.FLOAT32);
            float maxError = actual.sub(expected).abs().max().getFloat();
            assertThat(maxError).as("largest difference from libtorch").isLessThan(2e-5f * (float) Math.sqrt(in));
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"NONE", "INT8", "INT4"})
    void aProductWhoseWorkerIsHeldElsewhereGivesTheSameBitsWithoutWaitingForIt(String quantization) throws InterruptedException {
        try (MatmulPool pool = new MatmulPool(2); NDManager m = manager.newSubManager()) {
            Linear linear = new Linear(m.randomNormal(0, 0.05f, new Shape(1500, 800), DataType.FLOAT32),
                    m.randomNormal(new Shape(1500)), Quantization.valueOf(quantization), pool);
            NDArray x = m.randomNormal(new Shape(3, 1, 800));
            float[] split = linear.apply(x).toFloatArray();

            // A worker the host stopped in an earlier product's chunk: this product goes on without it.
            float[] alone;
            try (TestPools.HeldWorker held = TestPools.holdWorker(pool)) {
                alone = org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(30),
                        () -> linear.apply(x).toFloatArray());
            }
            float[] after = linear.apply(x).toFloatArray();

            assertThat(alone).containsExactly(split);
            assertThat(after).containsExactly(split);
        }
    }

    @ParameterizedTest(name = "{0} inputMajor={1} in={2} out={3}")
    @CsvSource({
        // output-major: blocks of 768 and 733 outputs, paired from each block's halves, the odd one alone
        "FLOAT32, false, 800, 1501",
        "FLOAT16, false, 800, 1501",
        "FLOAT32, true, 800, 1501",
        // input blocks of 448 and 353: one token row adds the inputs of each block's halves in pairs, the
        // odd one last, and the batch kernels must add them in that order too; 1000 columns take every tile
        "FLOAT32, true, 801, 1501",
        "FLOAT32, true, 801, 1000",
        "FLOAT16, true, 801, 1003",
    })
    void aRowGetsTheSameBitsAloneAsInABatch(DataType dtype, boolean inputMajor, int in, int out) {
        MatmulPool pool = TestPools.of(2);
        try (NDManager m = manager.newSubManager()) {
            NDArray w = m.randomNormal(0, 0.05f, new Shape(inputMajor ? in : out, inputMajor ? out : in), DataType.FLOAT32)
                    .toType(dtype, false);
            Linear linear = inputMajor ? Linear.inputMajor(w, null, Quantization.NONE, pool) : new Linear(w, null, Quantization.NONE, pool);
            int rows = 13; // three blocks of four and one alone, where the kernels take four token rows at once
            NDArray x = m.randomNormal(new Shape(rows, 1, in)); // thirteen sequences decoding together

            float[] batch = linear.apply(x).toFloatArray();
            for (int r = 0; r < rows; r++) {
                float[] alone = linear.apply(x.get(new NDIndex("{}:{}", r, r + 1))).toFloatArray();
                float[] inBatch = java.util.Arrays.copyOfRange(batch, r * out, (r + 1) * out);
                assertThat(alone).as("row %d", r).containsExactly(inBatch);
            }
            float[] pair = linear.apply(x.get(new NDIndex("0:2"))).toFloatArray(); // two sequences together
            assertThat(pair).as("rows 0 and 1 together").containsExactly(java.util.Arrays.copyOf(batch, 2 * out));
            float[] three = linear.apply(x.get(new NDIndex("0:3"))).toFloatArray(); // three: a tile's row stands in for the fourth
            assertThat(three).as("rows 0 to 2 together").containsExactly(java.util.Arrays.copyOf(batch, 3 * out));
            float[] six = linear.apply(x.get(new NDIndex("0:6"))).toFloatArray(); // a group of four and two past it
            assertThat(six).as("rows 0 to 5 together").containsExactly(java.util.Arrays.copyOf(batch, 6 * out));
            // A prompt's rows in prefill (more rows than decoding keeps arrays for) get the same bits too.
            NDArray once = x.reshape(1, rows, in);
            NDArray prompt = ai.djl.ndarray.NDArrays.concat(new ai.djl.ndarray.NDList(once, once, once, once, once, once), 1); // [1, 78, in]
            float[] prefill = linear.apply(prompt).toFloatArray();
            assertThat(java.util.Arrays.copyOfRange(prefill, 0, 13 * out)).as("rows 0 to 12 of a prompt (a full chunk)").containsExactly(batch);
            assertThat(java.util.Arrays.copyOfRange(prefill, 65 * out, 78 * out)).as("rows 65 to 77 of a prompt").containsExactly(batch);
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"FLOAT32", "FLOAT16"})
    void aTiedHeadServesAsTheEmbeddingTableAndHoldsTheWeightsOnce(DataType dtype) {
        MatmulPool pool = TestPools.of(2);
        try (NDManager m = manager.newSubManager()) {
            int vocab = 1003; // the last panel is padded
            int hidden = 771;
            NDArray table = m.randomNormal(0, 0.5f, new Shape(vocab, hidden), DataType.FLOAT32).toType(dtype, false);
            float[] stored = table.toType(DataType.FLOAT32, false).toFloatArray();
            Linear head = new Linear(table, null, Quantization.NONE, pool);
            assertThat(table.isReleased()).as("the checkpoint's array, once packed").isTrue();

            NDArray ids = m.create(new long[] {0, 1002, 31, 32, 33, 517}, new Shape(2, 3));
            float[] rows = head.lookup(ids).toFloatArray();

            assertThat(head.lookup(ids).getShape()).isEqualTo(new Shape(2, 3, hidden));
            long[] tokens = ids.toLongArray();
            for (int t = 0; t < tokens.length; t++) {
                int token = (int) tokens[t];
                assertThat(java.util.Arrays.copyOfRange(rows, t * hidden, (t + 1) * hidden)).as("token %d", token)
                        .containsExactly(java.util.Arrays.copyOfRange(stored, token * hidden, (token + 1) * hidden));
            }
        }
    }

    @ParameterizedTest(name = "largest weight {0}, inputMajor={1}")
    @CsvSource({"1.5, false", "1.5, true", "30000, false", "30000, true"})
    void float16SubnormalWeightsArePackedAsNormalsAndGiveTheSameBits(float largest, boolean inputMajor) {
        // A multiply-add with a subnormal operand costs an Intel core a microcode assist (a GPT-2-shaped
        // float16 model decoded 2.5-5 times slower with 0.24% of its weights subnormal), so the packing lifts
        // them by a power of two and the products take it back: the same bits as packed unlifted.
        MatmulPool pool = TestPools.of(2);
        int in = 771;
        int out = 1003;
        java.util.SplittableRandom random = new java.util.SplittableRandom(11);
        java.nio.ByteBuffer bits = java.nio.ByteBuffer.allocateDirect(2 * in * out).order(java.nio.ByteOrder.nativeOrder());
        for (int e = 0; e < in * out; e++) {
            short h = random.nextInt(50) == 0
                    ? (short) (random.nextInt(1, 0x400) | (random.nextBoolean() ? 0x8000 : 0)) // a subnormal, either sign
                    : Float16Bits.fromFloat((float) (random.nextGaussian() * 0.05));
            bits.putShort(2 * e, h);
        }
        bits.putShort(2 * 517, Float16Bits.fromFloat(largest));
        try (NDManager m = manager.newSubManager()) {
            NDArray w = m.create(bits, new Shape(inputMajor ? in : out, inputMajor ? out : in), DataType.FLOAT16);
            PanelWeights lifted = PanelWeights.pack(w, null, inputMajor, m, pool);
            PanelWeights asStored = PanelWeights.pack(w, null, inputMajor, m, false, pool);

            assertThat(subnormals(asStored.w)).as("subnormals packed unlifted").isGreaterThan(in * out / 100);
            if (largest < 32) {
                assertThat(subnormals(lifted.w)).as("subnormals packed lifted").isZero();
            } else { // lifted by 2^1 only, or 30000 would pass 65504: the smallest stay subnormal
                assertThat(subnormals(lifted.w)).as("subnormals packed lifted").isBetween(1, subnormals(asStored.w) - 1);
            }
            int rows = 9;
            float[] x = new float[rows * in];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) random.nextGaussian();
            }
            float[] want = product(asStored, x, rows);
            NDArray stored = m.create(bits.rewind(), w.getShape(), DataType.FLOAT16);
            Linear linear = inputMajor ? Linear.inputMajor(stored, null, Quantization.NONE, pool) : new Linear(stored, null, Quantization.NONE, pool); // packs lifted
            assertThat(linear.apply(m.create(x, new Shape(rows, 1, in))).toFloatArray()).containsExactly(want);
            NDArray expected = m.create(x, new Shape(rows, in)).matMul(
                    (inputMajor ? w : w.transpose()).toType(DataType.FLOAT32, false)); // [rows, out]
            float maxError = expected.sub(m.create(want, new Shape(rows, out))).abs().max().getFloat();
            assertThat(maxError).as("largest difference from libtorch").isLessThan(2e-5f * (float) Math.sqrt(in) * Math.max(1, largest));
        }
    }

    /** x·W through the kernels from float16 panels packed as stored: x [rows, in] → [rows, out]. */
    private static float[] product(PanelWeights weights, float[] x, int rows) {
        assertThat(weights.unscale).isEqualTo(1f);
        float[] unscale = new float[rows];
        float[] scaled = VectorKernels.scaledForHalf(x, rows, weights.in, null, unscale);
        int stride = weights.panels * VectorKernels.PANEL;
        float[] y = new float[rows * stride];
        VectorKernels.multiply(weights.w, true, weights.bias, weights.in, scaled, unscale, rows, y, stride, 0, weights.panels);
        float[] trimmed = new float[rows * weights.out];
        for (int r = 0; r < rows; r++) {
            System.arraycopy(y, r * stride, trimmed, r * weights.out, weights.out);
        }
        return trimmed;
    }

    private static int subnormals(java.nio.ByteBuffer halves) {
        int count = 0;
        for (int at = 0; at + 2 <= halves.limit(); at += 2) {
            int magnitude = halves.getShort(at) & 0x7fff;
            count += magnitude > 0 && magnitude < 0x400 ? 1 : 0;
        }
        return count;
    }

    @Test
    void float16WeightsMeetActivationsBeyondFloat16sRange() {
        // The float16 kernels scale their input by 2^112 (VectorKernels.halfInput), which would overflow from
        // |x| = 2^16 on: such a row takes a smaller factor of its own, and its neighbours keep theirs.
        MatmulPool pool = TestPools.of(2);
        try (NDManager m = manager.newSubManager()) {
            int in = 771;
            int out = 1000;
            NDArray w = m.randomNormal(0, 0.05f, new Shape(out, in), DataType.FLOAT32).toType(DataType.FLOAT16, false);
            int rows = 9;
            NDArray x = m.randomNormal(new Shape(rows, 1, in)); // [rows, 1, in]
            NDArray scales = m.create(new float[] {1, 3e5f, 1, 1, 65536, 1, 2e9f, 1, 1}).reshape(rows, 1, 1);
            x = x.mul(scales);
            NDArray expected = x.matMul(w.toType(DataType.FLOAT32, false).transpose()); // [rows, 1, out]
            Linear linear = new Linear(w, null, Quantization.NONE, pool);

            NDArray actual = linear.apply(x);

            float[] got = actual.toFloatArray();
            float[] want = expected.toFloatArray();
            for (int r = 0; r < rows; r++) {
                float scale = scales.getFloat(r, 0, 0);
                for (int o = 0; o < out; o++) {
                    float g = got[r * out + o];
                    assertThat(Float.isFinite(g)).as("row %d output %d: %s", r, o, g).isTrue();
                    assertThat(Math.abs(g - want[r * out + o])).as("row %d output %d", r, o)
                            .isLessThan(2e-5f * (float) Math.sqrt(in) * scale);
                }
                float[] alone = linear.apply(x.get(new NDIndex("{}:{}", r, r + 1))).toFloatArray();
                assertThat(alone).as("row %d alone", r).containsExactly(java.util.Arrays.copyOfRange(got, r * out, (r + 1) * out));
            }
        }
    }

    @ParameterizedTest(name = "{0} {1} inputMajor={2} split={3}")
    @CsvSource({
        "gelu_new, FLOAT32, false, 2",
        "gelu_new, FLOAT32, true, 2",
        "gelu_new, FLOAT16, false, 1",
        "silu, FLOAT32, false, 2",
        "silu, FLOAT16, false, 2",
    })
    void anActivationFusedIntoTheKernelsMatchesLibtorchs(String name, DataType dtype, boolean inputMajor, int split) {
        MatmulPool pool = TestPools.of(split);
        ElementwiseActivation act = (ElementwiseActivation) Activations.byName(name);
        try (NDManager m = manager.newSubManager()) {
            int in = 771;
            int out = 1003; // tails in every thread's block of outputs
            // Weights large enough that the products reach where the activations bend and saturate.
            NDArray w = m.randomNormal(0, 0.5f, new Shape(inputMajor ? in : out, inputMajor ? out : in), DataType.FLOAT32)
                    .toType(dtype, false);
            NDArray b = m.randomNormal(0, 2f, new Shape(out), DataType.FLOAT32).toType(dtype, false);
            Linear linear = inputMajor ? Linear.inputMajor(w, b, Quantization.NONE, pool) : new Linear(w, b, Quantization.NONE, pool);
            NDArray x = m.randomNormal(new Shape(5, 1, in));

            NDArray fused = linear.apply(x, act); // in the kernels
            NDArray expected = act.apply(linear.apply(x)); // libtorch's operations on the same product
            assertThat(fused.getShape()).isEqualTo(expected.getShape());
            float[] f = fused.toFloatArray();
            float[] e = expected.toFloatArray();
            for (int i = 0; i < f.length; i++) {
                assertThat(f[i]).as("element %d", i).isCloseTo(e[i], org.assertj.core.data.Offset.offset(1e-5f * (1 + Math.abs(e[i]))));
            }
            // The range was covered: strongly negative inputs (output near zero) and strongly positive ones.
            NDArray pre = linear.apply(x);
            assertThat(pre.min().getFloat()).isLessThan(-10f);
            assertThat(pre.max().getFloat()).isGreaterThan(10f);
        }
    }
}
