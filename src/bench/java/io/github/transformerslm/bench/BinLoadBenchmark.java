package io.github.transformerslm.bench;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.github.transformerslm.serving.LoadedModel;
import io.github.transformerslm.serving.ModelLoader;
import io.github.transformerslm.runtime.TorchRuntime;
import io.github.transformerslm.weights.Checkpoint;
import io.github.transformerslm.weights.TorchSaveWriter;
import java.io.File;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Peak resident memory while loading the benchmark's GPT-2-small shape from safetensors and from a
 * {@code torch.save} .bin (not a test): each load runs in a fresh JVM, which reports its peak resident set
 * (VmHWM) once the model is loaded. Run: {@code mvn -q test-compile exec:java
 * -Dbenchmark=io.github.transformerslm.bench.BinLoadBenchmark}.
 */
public final class BinLoadBenchmark {
    public static void main(String[] args) throws Exception {
        if (args.length == 2 && args[0].equals("probe")) {
            probe(Path.of(args[1]));
            return;
        }
        Path root = Files.createTempDirectory("lm-bin-bench");
        Path safetensors = Benchmark.build(root.resolve("safetensors"), "gpt2");
        Path bin = Files.createDirectories(root.resolve("bin"));
        try (Stream<Path> files = Files.list(safetensors)) {
            for (Path f : files.toList()) {
                if (!f.getFileName().toString().endsWith(".safetensors")) {
                    Files.copy(f, bin.resolve(f.getFileName()));
                }
            }
        }
        TorchRuntime.start(1);
        TorchSaveWriter writer = new TorchSaveWriter();
        try (Checkpoint c = Checkpoint.open(safetensors); NDManager m = NDManager.newBaseManager()) {
            for (String name : c.names()) {
                writer.add(name, c.shape(name), c.load(name, m, DataType.FLOAT32).toFloatArray());
            }
        }
        writer.write(bin.resolve("pytorch_model.bin"));
        System.out.printf("GPT-2-small shape, float32, loaded in a fresh JVM (1 thread); peak resident set while loading%n");
        System.out.printf("%-12s %10s %12s %12s %10s%n", "format", "file MB", "peak RSS MB", "RSS after MB", "load ms");
        for (int round = 0; round < 2; round++) {
            for (Path dir : List.of(safetensors, bin)) {
                Path file = dir.resolve(dir == bin ? "pytorch_model.bin" : "model.safetensors");
                String out = run(dir).strip();
                System.out.printf("%-12s %10d %s%n", dir == bin ? ".bin" : "safetensors", Files.size(file) >> 20, out);
            }
        }
    }

    private static String run(Path dir) throws Exception {
        List<String> classpath = new ArrayList<>();
        for (URL url : ((URLClassLoader) Thread.currentThread().getContextClassLoader()).getURLs()) {
            classpath.add(new File(url.toURI()).getPath());
        }
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "-cp", String.join(File.pathSeparator, classpath),
                BinLoadBenchmark.class.getName(), "probe", dir.toString()).redirectErrorStream(true);
        pb.environment().put("OMP_WAIT_POLICY", "PASSIVE");
        Process p = pb.start();
        String output = new String(p.getInputStream().readAllBytes());
        p.waitFor();
        String[] lines = output.strip().split("\n");
        return lines[lines.length - 1];
    }

    private static void probe(Path dir) throws Exception {
        TorchRuntime.start(1);
        long start = System.nanoTime();
        try (LoadedModel model = ModelLoader.load(dir, DataType.FLOAT32)) {
            long ms = (System.nanoTime() - start) / 1_000_000;
            System.out.printf("%12d %12d %10d%n", status("VmHWM") >> 10, status("VmRSS") >> 10, ms);
        }
    }

    private static long status(String field) throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith(field + ":")) {
                return Long.parseLong(line.replaceAll("\\D", ""));
            }
        }
        return -1;
    }
}
