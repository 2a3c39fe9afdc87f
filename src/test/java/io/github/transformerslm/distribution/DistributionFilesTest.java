package io.github.transformerslm.distribution;

import org.junit.jupiter.api.Tag;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import io.github.transformerslm.bench.ServiceBenchmark;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

/**
 * The Docker Compose distribution, checked without a Docker engine: Debian's docker-compose validates and
 * merges the files, and the files agree with each other (cards, registry, ports, MODELS.md, configs).
 * Needs docker-compose on PATH (.ci/run installs it).
 */
@Tag("integration")
class DistributionFilesTest {
    static final List<List<String>> COMBINATIONS = List.of(
            List.of("docker-compose.yml", "docker-compose.override.yml"),
            List.of("docker-compose.yml", "docker-compose.override.yml", "dev.yml"),
            List.of("docker-compose.yml", "docker-compose.override.yml", "proxy.yml"),
            List.of("docker-compose.yml", "cpu.yml"),
            List.of("docker-compose.yml", "cpu.yml", "dev.yml"),
            List.of("docker-compose.yml", "cpu.yml", "cpu-int8.yml", "dev.yml"),
            List.of("docker-compose.yml", "cpu.yml", "cpu-int4.yml"),
            List.of("docker-compose.yml", "docker-compose.override.yml", "dev.yml", "proxy.yml", "cpu.yml"),
            List.of("docker-compose.yml", "docker-compose.override.yml", "monitoring.yml"));

    static String compose(List<String> files, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("docker-compose"));
        for (String f : files) {
            cmd.add("-f");
            cmd.add(f);
        }
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("%s\n%s", cmd, out).isZero();
        return out;
    }

    @Test
    void composeValidatesEveryCombination() throws Exception {
        for (List<String> files : COMBINATIONS) {
            compose(files, "config", "-q");
        }
    }

    /**
     * Each CPU overlay quantizes every model as its name says and gives it at least the memory MODELS.md
     * lists for its weights in that mode, with room for the KV cache and the rest (a quarter and 1 GB).
     */
    @SuppressWarnings("unchecked")
    @Test
    void cpuOverlaysLimitMemoryToEachModelsFootprintInTheirMode() throws IOException {
        Map<String, double[]> footprint = new java.util.HashMap<>(); // container -> GB {float32, float16, int8, int4}
        for (String line : Files.readAllLines(Path.of("MODELS.md"))) {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile(
                    "^\\| (transformers-lm-[\\w]+) \\| [^|]+ \\| ([\\d.]+) GB \\| ([\\d.]+) GB \\| ([\\d.]+) GB \\| ([\\d.]+) GB \\|").matcher(line);
            if (m.find()) {
                footprint.put(m.group(1), new double[] {Double.parseDouble(m.group(2)), Double.parseDouble(m.group(3)),
                        Double.parseDouble(m.group(4)), Double.parseDouble(m.group(5))});
            }
        }
        Map<String, Object> override = (Map<String, Object>) ((Map<String, Object>) new Yaml().load(
                Files.readString(Path.of("docker-compose.override.yml")))).get("services");
        assertThat(footprint.keySet()).as("MODELS.md footprint rows").isEqualTo(override.keySet());
        for (String[] overlay : new String[][] {{"cpu.yml", "0", null}, {"cpu-int8.yml", "2", "int8"}, {"cpu-int4.yml", "3", "int4"}}) {
            Map<String, Object> services = (Map<String, Object>) ((Map<String, Object>) new Yaml().load(
                    Files.readString(Path.of(overlay[0])))).get("services");
            assertThat(services.keySet()).as(overlay[0]).isEqualTo(override.keySet());
            services.forEach((name, service) -> {
                Map<String, Object> svc = (Map<String, Object>) service;
                if (overlay[2] != null) {
                    assertThat(((Map<String, Object>) svc.get("environment")).get("QUANTIZE")).as("%s %s", overlay[0], name)
                            .isEqualTo(overlay[2]);
                }
                String memory = (String) ((Map<String, Object>) ((Map<String, Object>) ((Map<String, Object>) svc.get("deploy"))
                        .get("resources")).get("limits")).get("memory");
                double weights = footprint.get(name)[Integer.parseInt(overlay[1])];
                assertThat(Double.parseDouble(memory.replace("G", ""))).as("%s %s memory", overlay[0], name)
                        .isGreaterThanOrEqualTo(1.25 * weights + 1 - 0.1);
            });
        }
    }

    @SuppressWarnings("unchecked")
    @Test
    void prometheusScrapesEveryServiceAndTheDashboardShowsTheServiceMetrics() throws IOException {
        Map<String, Object> base = (Map<String, Object>) ((Map<String, Object>) new Yaml().load(
                Files.readString(Path.of("docker-compose.yml")))).get("services");
        String prometheus = Files.readString(Path.of("monitoring/prometheus.yml"));
        assertThat(prometheus).contains("metrics_path: /actuator/prometheus");
        for (Map.Entry<String, Object> e : base.entrySet()) {
            Object port = ((Map<String, Object>) ((Map<String, Object>) e.getValue()).get("environment")).get("SERVICE_PORT");
            assertThat(prometheus).as("scrape target of %s", e.getKey()).contains("- " + e.getKey() + ":" + port);
        }
        String dashboard = Files.readString(Path.of("monitoring/grafana/dashboards/transformers-lm.json"));
        tools.jackson.databind.JsonNode json = tools.jackson.databind.json.JsonMapper.builder().build().readTree(dashboard);
        assertThat(json.get("panels").size()).isGreaterThanOrEqualTo(8);
        for (String metric : List.of("lm_time_to_first_token_seconds", "lm_time_per_output_token_seconds",
                "lm_e2e_request_latency_seconds", "lm_request_queue_time_seconds", "lm_generation_tokens_total",
                "lm_num_requests_running", "lm_num_requests_waiting", "lm_kv_cache_bytes", "http_server_requests_seconds_count")) {
            assertThat(dashboard).as(metric).contains(metric);
        }
    }

    @SuppressWarnings("unchecked")
    @Test
    void gpusAreReservedWithTheOverrideAndNeverWithCpuYml() throws Exception {
        Map<String, Object> gpu = new Yaml().load(compose(COMBINATIONS.get(0), "config"));
        Map<String, Object> cpu = new Yaml().load(compose(COMBINATIONS.get(3), "config"));
        Map<String, Map<String, Object>> gpuServices = (Map<String, Map<String, Object>>) gpu.get("services");
        int reserved = 0;
        for (Map.Entry<String, Map<String, Object>> e : gpuServices.entrySet()) {
            String text = e.getValue().toString();
            if (text.contains("driver=nvidia")) {
                assertThat(text).contains("capabilities=[gpu]");
                reserved++;
            }
        }
        assertThat(reserved).isGreaterThanOrEqualTo(11);
        assertThat(cpu.toString()).doesNotContain("nvidia");
        assertThat(((Map<String, Object>) cpu.get("services")).keySet()).isEqualTo(gpuServices.keySet());
    }

    @SuppressWarnings("unchecked")
    @Test
    void cardsRegistryPortsAndModelsAgree() throws IOException {
        Yaml yaml = new Yaml();
        Map<String, Map<String, Object>> override = (Map<String, Map<String, Object>>) ((Map<String, Object>) yaml.load(
                Files.readString(Path.of("docker-compose.override.yml")))).get("services");
        Map<String, Object> dev = (Map<String, Object>) ((Map<String, Object>) yaml.load(Files.readString(Path.of("dev.yml")))).get("services");
        Map<String, Object> proxy = (Map<String, Object>) ((Map<String, Object>) yaml.load(Files.readString(Path.of("proxy.yml")))).get("services");
        Map<String, Object> base = (Map<String, Object>) ((Map<String, Object>) yaml.load(Files.readString(Path.of("docker-compose.yml")))).get("services");
        Map<String, String> tsv = new HashMap<>();
        for (String line : Files.readAllLines(Path.of("components/components.tsv")).subList(1, Files.readAllLines(Path.of("components/components.tsv")).size())) {
            String[] cols = line.split("\t");
            tsv.put(cols[1], cols[0]);
            assertThat(cols).as("components.tsv row of %s", cols[1]).hasSize(3);
            assertThat(cols[2]).isEqualTo("respond,generate_goals");
        }
        String models = Files.readString(Path.of("MODELS.md"));
        Set<String> ports = new HashSet<>();
        assertThat(override).hasSizeGreaterThanOrEqualTo(12);
        for (Map.Entry<String, Map<String, Object>> e : override.entrySet()) {
            String name = e.getKey();
            assertThat(name).startsWith("transformers-lm-");
            Path card = Path.of("components", name + ".yml");
            assertThat(card).as("card of %s", name).exists();
            Map<String, Object> c = yaml.load(Files.readString(card));
            for (String key : List.of("name", "display_name", "component_type", "model_type", "description", "ram_usage",
                    "gpu_usage", "connector", "endpoint", "service")) {
                assertThat(c).as("%s in card of %s", key, name).containsKey(key);
            }
            String url = (String) ((Map<String, Object>) c.get("connector")).get("url");
            String port = String.valueOf(((Map<String, Object>) ((Map<String, Object>) base.get(name)).get("environment")).get("SERVICE_PORT"));
            assertThat(ports.add(port)).as("port %s of %s is unique", port, name).isTrue();
            assertThat(url).isEqualTo("http://" + name + ":" + port + "/respond");
            Path goalsCard = Path.of("components", name + "-goals.yml");
            assertThat(goalsCard).as("generate_goals card of %s", name).exists();
            Map<String, Object> goals = yaml.load(Files.readString(goalsCard));
            assertThat(goals.get("endpoint")).isEqualTo("generate_goals");
            assertThat(((Map<String, Object>) goals.get("connector")).get("url"))
                    .isEqualTo("http://" + name + ":" + port + "/generate_goals");
            assertThat(goals.get("service")).isEqualTo(c.get("service"));
            assertThat(tsv.get(name)).as("components.tsv port of %s", name).isEqualTo(port);
            assertThat(dev.get(name).toString()).as("dev.yml port of %s", name).contains(port + ":" + port);
            assertThat(proxy.get(name).toString()).as("proxy.yml of %s", name).contains(":" + port).contains("PORT=" + port);
            assertThat(Path.of((String) c.get("service"), "environment.yml")).exists();
            assertThat(Path.of((String) c.get("service"), "service.yml")).exists();
            assertThat(models).as("MODELS.md row of %s", name).contains("| " + name + " |");
            Map<String, Object> env = (Map<String, Object>) e.getValue().get("environment");
            assertThat(env).containsKeys("PRETRAINED_MODEL_NAME_OR_PATH", "HALF_PRECISION", "GENERATIVE_CONFIG");
            assertThat(Path.of("generative_configs", (String) env.get("GENERATIVE_CONFIG"))).as("config of %s", name).exists();
            assertThat(e.getValue().toString()).contains("memory");
        }
        assertThat(tsv.keySet()).isEqualTo(override.keySet());
    }

    @Test
    void imageRunsTheJvmAsTheServiceBenchmarkMeasuredIt() throws IOException {
        // The README's memory figures come from ServiceBenchmark, which starts the jar with these settings.
        String dockerfile = Files.readString(Path.of("Dockerfile"));
        assertThat(dockerfile).contains("JAVA_TOOL_OPTIONS=\"" + ServiceBenchmark.IMAGE_JVM_OPTIONS + " ")
                .contains("MALLOC_ARENA_MAX=2");
    }
}
