package io.github.transformerslm.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * llama.cpp's {@code llama-bench} as the benchmark's peer: the same GPT-2-small-shaped model (the
 * benchmark's {@code -Dexport} directory converted by {@code ../shared/peers/llamacpp/convert.sh}), the same
 * threads, pp512 and tg128. LLAMA_CPP_DIR names the build (a directory with {@code bin/llama-bench} or
 * {@code build/bin/llama-bench}); LLAMA_CPP_MODELS the GGUF files ({@code gpt2-small-TYPE.gguf}, default
 * /tmp/llamacpp, where convert.sh writes them).
 */
final class LlamaCppPeer {
    private final Path bench;
    private final Path models;

    private LlamaCppPeer(Path bench, Path models) {
        this.bench = bench;
        this.models = models;
    }

    /** The peer LLAMA_CPP_DIR points at, or empty when it is unset. */
    static Optional<LlamaCppPeer> fromEnvironment() {
        String dir = System.getenv("LLAMA_CPP_DIR");
        if (dir == null || dir.isBlank()) {
            return Optional.empty();
        }
        for (String candidate : List.of("bin/llama-bench", "build/bin/llama-bench", "llama-bench")) {
            Path p = Path.of(dir).resolve(candidate);
            if (Files.isExecutable(p)) {
                String models = System.getenv().getOrDefault("LLAMA_CPP_MODELS", "/tmp/llamacpp");
                return Optional.of(new LlamaCppPeer(p, Path.of(models)));
            }
        }
        throw new IllegalStateException("LLAMA_CPP_DIR=" + dir + ": no llama-bench under bin/ or build/bin/");
    }

    /** The GGUF file of llama.cpp's type (f32, f16, q8_0, q4_0, q4_0-pure), if converted. */
    Optional<Path> model(String type) {
        Path p = models.resolve("gpt2-small-" + type + ".gguf");
        return Files.isRegularFile(p) ? Optional.of(p) : Optional.empty();
    }

    /** pp512 and tg128 tokens/s, the mean of {@code reps} runs after llama-bench's own warm-up. */
    record Result(double prefill, double decode) {}

    Result run(Path gguf, int threads, int reps) {
        List<String> command = new ArrayList<>(List.of(bench.toString(), "-m", gguf.toString(), "-t", String.valueOf(threads),
                "-p", "512", "-n", "128", "-r", String.valueOf(reps), "-o", "jsonl"));
        try {
            ProcessBuilder builder = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD);
            // Our JVM runs with OMP_WAIT_POLICY=PASSIVE (libtorch's threads must not spin beside the kernels);
            // llama.cpp's OpenMP threads would then sleep between its many small operations, and its decoding
            // ran at a quarter of its speed. The peer runs as llama.cpp's users run it.
            builder.environment().remove("OMP_WAIT_POLICY");
            Process p = builder.start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (p.waitFor() != 0) {
                throw new IllegalStateException("llama-bench failed: " + command);
            }
            double prefill = Double.NaN;
            double decode = Double.NaN;
            JsonMapper json = JsonMapper.builder().build();
            for (String line : out.lines().filter(l -> l.startsWith("{")).toList()) {
                JsonNode r = json.readTree(line);
                if (r.get("n_gen").asInt() == 0) {
                    prefill = r.get("avg_ts").asDouble();
                } else {
                    decode = r.get("avg_ts").asDouble();
                }
            }
            return new Result(prefill, decode);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** llama.cpp's counterpart of a benchmark mode. */
    static String typeOf(String mode) {
        return switch (mode) {
            case "fp32" -> "f32";
            case "fp16" -> "f16";
            case "int8" -> "q8_0";
            case "int4" -> "q4_0";
            case "int4-pure" -> "q4_0-pure";
            default -> throw new IllegalArgumentException(mode);
        };
    }
}
