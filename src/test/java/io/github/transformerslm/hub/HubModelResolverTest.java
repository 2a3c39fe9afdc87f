package io.github.transformerslm.hub;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.types.DataType;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.github.transformerslm.runtime.TorchRuntime;
import io.github.transformerslm.model.GoldenReference;
import io.github.transformerslm.model.LastLogits;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Hub client against a local server that speaks the Hub's protocol (revision API, resolve with
 * redirects to a CDN, ETags, Range, 401/404, a connection cut mid-file) and serves the GPT-2 golden model.
 * Nothing here touches the network.
 */
class HubModelResolverTest {
    static final String COMMIT = "0123456789abcdef0123456789abcdef01234567";
    static final List<String> FILES = List.of("config.json", "generation_config.json", "tokenizer.json",
            "tokenizer_config.json", "model.safetensors");

    @TempDir
    Path home;

    HttpServer server;
    final List<String> requests = new CopyOnWriteArrayList<>();
    final Map<String, byte[]> content = new LinkedHashMap<>();
    boolean cutNextCdnResponse;
    boolean corruptCdn;

    @BeforeAll
    static void engine() {
        TorchRuntime.start(1);
    }

    static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    static String sha1(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(b));
    }

    @BeforeEach
    void start() throws Exception {
        for (String f : FILES) {
            content.put(f, Files.readAllBytes(GoldenReference.directory("gpt2").resolve(f)));
        }
        content.put("pytorch_model.bin", Files.readAllBytes(
                Path.of("src/test/resources/checkpoints-bin/gpt2_f32_legacy_names/pytorch_model.bin")));
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", this::handle);
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    URI endpoint() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    HubModelResolver resolver(String token, boolean offline) {
        return new HubModelResolver(new HubSettings(endpoint(), home, token, offline, null));
    }

    private void handle(HttpExchange ex) throws IOException {
        String path = ex.getRequestURI().getPath();
        String range = ex.getRequestHeaders().getFirst("Range");
        requests.add(ex.getRequestMethod() + " " + path + (range != null ? " " + range : ""));
        boolean authorized = "Bearer secret".equals(ex.getRequestHeaders().getFirst("Authorization"));
        try {
            if (path.startsWith("/api/models/")) {
                String id = path.substring("/api/models/".length(), path.indexOf("/revision/"));
                if (id.equals("acme/gated") && !authorized) {
                    respond(ex, 401, "{\"error\": \"gated\"}".getBytes());
                } else if (id.equals("acme/pickles")) {
                    StringBuilder siblings = new StringBuilder();
                    for (String f : FILES) {
                        if (!f.endsWith(".safetensors")) {
                            siblings.append("{\"rfilename\": \"").append(f).append("\"}, ");
                        }
                    }
                    siblings.append("{\"rfilename\": \"pytorch_model.bin\"}, {\"rfilename\": \"flax_model.msgpack\"}");
                    respond(ex, 200, ("{\"sha\": \"" + COMMIT + "\", \"siblings\": [" + siblings + "]}").getBytes());
                } else if (id.startsWith("acme/")) {
                    StringBuilder siblings = new StringBuilder();
                    for (String f : FILES) {
                        siblings.append("{\"rfilename\": \"").append(f).append("\"}, ");
                    }
                    siblings.append("{\"rfilename\": \"pytorch_model.bin\"}, {\"rfilename\": \"onnx/model.onnx\"}");
                    respond(ex, 200, ("{\"sha\": \"" + COMMIT + "\", \"siblings\": [" + siblings + "]}").getBytes());
                } else {
                    respond(ex, 404, "{}".getBytes());
                }
            } else if (path.contains("/resolve/")) {
                String file = path.substring(path.lastIndexOf('/') + 1);
                byte[] bytes = content.get(file);
                if (bytes == null) {
                    respond(ex, 404, new byte[0]);
                } else if (file.endsWith(".safetensors") || file.endsWith(".bin")) {
                    String sha = sha256(bytes);
                    ex.getResponseHeaders().add("X-Linked-Etag", "\"" + sha + "\"");
                    ex.getResponseHeaders().add("X-Linked-Size", String.valueOf(bytes.length));
                    ex.getResponseHeaders().add("Location", "/cdn/" + sha);
                    ex.sendResponseHeaders(302, -1);
                    ex.close();
                } else {
                    ex.getResponseHeaders().add("ETag", "\"" + sha1(bytes) + "\"");
                    respond(ex, 200, ex.getRequestMethod().equals("HEAD") ? null : bytes, bytes.length);
                }
            } else if (path.startsWith("/cdn/")) {
                String sha = path.substring("/cdn/".length());
                byte[] bytes = null;
                for (byte[] candidate : content.values()) {
                    if (sha256(candidate).equals(sha)) {
                        bytes = candidate.clone();
                    }
                }
                if (corruptCdn) {
                    bytes[bytes.length - 1] ^= 1;
                }
                long from = range == null ? 0 : Long.parseLong(range.replaceAll("bytes=(\\d+)-", "$1"));
                ex.getResponseHeaders().add("Content-Length", String.valueOf(bytes.length - from));
                ex.sendResponseHeaders(range == null ? 200 : 206, bytes.length - from);
                OutputStream out = ex.getResponseBody();
                if (cutNextCdnResponse) {
                    cutNextCdnResponse = false;
                    out.write(bytes, (int) from, (bytes.length - (int) from) / 2);
                    out.flush();
                    ex.getHttpContext().getServer(); // leave the response unfinished
                    ex.close();
                    return;
                }
                out.write(bytes, (int) from, bytes.length - (int) from);
                ex.close();
            } else {
                respond(ex, 404, new byte[0]);
            }
        } catch (Exception e) {
            throw new IOException(e);
        }
    }

    private static void respond(HttpExchange ex, int status, byte[] body) throws IOException {
        respond(ex, status, body, body.length);
    }

    private static void respond(HttpExchange ex, int status, byte[] body, int length) throws IOException {
        ex.sendResponseHeaders(status, body == null ? -1 : length);
        if (body != null) {
            ex.getResponseBody().write(body);
        }
        ex.close();
    }

    @Test
    void downloadsIntoHuggingFaceHubsCacheLayoutResumingACutDownload() throws Exception {
        cutNextCdnResponse = true;
        Path snapshot = resolver(null, false).resolve("acme/tiny-gpt2");
        Path repo = home.resolve("hub/models--acme--tiny-gpt2");
        assertThat(snapshot).isEqualTo(repo.resolve("snapshots").resolve(COMMIT));
        assertThat(Files.readString(repo.resolve("refs/main"))).isEqualTo(COMMIT);
        for (String f : FILES) {
            Path link = snapshot.resolve(f);
            assertThat(Files.isSymbolicLink(link)).as(f).isTrue();
            String etag = f.endsWith(".safetensors") ? sha256(content.get(f)) : sha1(content.get(f));
            assertThat(Files.readSymbolicLink(link).toString()).isEqualTo("../../blobs/" + etag);
            assertThat(Files.readAllBytes(repo.resolve("blobs").resolve(etag))).as(f).isEqualTo(content.get(f));
        }
        try (var blobs = Files.list(repo.resolve("blobs"))) {
            assertThat(blobs.map(p -> p.getFileName().toString())).noneMatch(n -> n.endsWith(".incomplete"));
        }
        assertThat(snapshot.resolve("pytorch_model.bin")).doesNotExist();
        assertThat(requests).anyMatch(r -> r.startsWith("GET /cdn/") && r.contains("bytes="));
        assertThat(LastLogits.maxDiff(LastLogits.of(snapshot, DataType.FLOAT32, GoldenReference.of("gpt2").inputIds()),
                GoldenReference.of("gpt2").lastLogits())).isLessThan(1e-4);

        requests.clear();
        assertThat(resolver(null, false).resolve("acme/tiny-gpt2")).isEqualTo(snapshot);
        assertThat(requests).noneMatch(r -> r.startsWith("GET /cdn/") || r.startsWith("GET /acme"));
    }

    @Test
    void aRepositoryWithOnlyPyTorchWeightsIsDownloadedAndServed() throws Exception {
        Path snapshot = resolver(null, false).resolve("acme/pickles");
        assertThat(snapshot.resolve("pytorch_model.bin")).exists();
        assertThat(snapshot.resolve("model.safetensors")).doesNotExist();
        assertThat(snapshot.resolve("flax_model.msgpack")).doesNotExist();
        assertThat(Files.readAllBytes(snapshot.resolve("pytorch_model.bin"))).isEqualTo(content.get("pytorch_model.bin"));
        assertThat(LastLogits.maxDiff(LastLogits.of(snapshot, DataType.FLOAT32, GoldenReference.of("gpt2").inputIds()),
                GoldenReference.of("gpt2").lastLogits())).isLessThan(1e-4);
    }

    @Test
    void offlineServesTheCacheAndSaysSoWhenItCannot() {
        Path snapshot = resolver(null, false).resolve("acme/tiny-gpt2@main");
        server.stop(0);
        assertThat(resolver(null, true).resolve("acme/tiny-gpt2")).isEqualTo(snapshot);
        assertThatThrownBy(() -> resolver(null, true).resolve("acme/other")).isInstanceOf(HubException.class)
                .hasMessageContaining("HF_HUB_OFFLINE");
    }

    @Test
    void gatedModelsNeedTheTokenWhichIsSentAsBearer() {
        assertThatThrownBy(() -> resolver(null, false).resolve("acme/gated")).isInstanceOf(HubException.class)
                .hasMessageContaining("accept its licence").hasMessageContaining("HF_TOKEN");
        assertThat(resolver("secret", false).resolve("acme/gated")).exists();
    }

    @Test
    void unknownIdsPicklesNoNetworkAndCorruptBlobsAreClearErrors() throws IOException {
        assertThatThrownBy(() -> resolver(null, false).resolve("nobody/nothing")).hasMessageContaining("not found");
        assertThatThrownBy(() -> resolver(null, false).resolve("not a model")).hasMessageContaining("Hub id");
        corruptCdn = true;
        assertThatThrownBy(() -> resolver(null, false).resolve("acme/tiny-gpt2")).hasMessageContaining("corrupt");
        try (var blobs = Files.list(home.resolve("hub/models--acme--tiny-gpt2/blobs"))) {
            assertThat(blobs.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith(sha256OfModel()));
        }
        server.stop(0);
        assertThatThrownBy(() -> resolver(null, false).resolve("acme/tiny-gpt2")).isInstanceOf(HubException.class)
                .hasMessageContaining("HF_HUB_OFFLINE");
    }

    String sha256OfModel() {
        try {
            return sha256(content.get("model.safetensors"));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void twoResolversSharingOneCacheDoNotCorruptIt() throws Exception {
        var pool = java.util.concurrent.Executors.newFixedThreadPool(2);
        var a = pool.submit(() -> resolver(null, false).resolve("acme/tiny-gpt2"));
        var b = pool.submit(() -> resolver(null, false).resolve("acme/tiny-gpt2"));
        assertThat(a.get()).isEqualTo(b.get());
        pool.shutdown();
        Path blob = home.resolve("hub/models--acme--tiny-gpt2/blobs").resolve(sha256OfModel());
        assertThat(Files.readAllBytes(blob)).isEqualTo(content.get("model.safetensors"));
        assertThat(requests.stream().filter(r -> r.startsWith("GET /cdn/")).count()).isEqualTo(1);
    }

    @Test
    void anExistingDirectoryIsUsedAsIs() {
        Path dir = GoldenReference.directory("gpt2");
        assertThat(resolver(null, false).resolve(dir.toString())).isEqualTo(dir);
        assertThat(new ArrayList<>(requests)).isEmpty();
    }
}
