package io.github.transformerslm.hub;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Turns PRETRAINED_MODEL_NAME_OR_PATH into a local model directory. An existing directory is used as is;
 * anything else is a Hub id ({@code org/name}, optionally {@code @revision}), resolved to a commit,
 * downloaded once into huggingface_hub's cache layout ({@code models--org--name/blobs},
 * {@code snapshots/<commit>}, {@code refs}) and served from its snapshot. Downloads resume, are verified
 * before they are moved into place, and are locked against other containers sharing the cache.
 */
public final class HubModelResolver {
    private static final Logger log = LoggerFactory.getLogger(HubModelResolver.class);
    private static final Pattern ID = Pattern.compile("[\\w.-]+/[\\w.-]+");
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
    private static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}");
    private static final long PROGRESS_MIN_BYTES = 16L * 1024 * 1024;

    /** FileLock guards against other processes; within this one, threads queue on the same key first. */
    private static final java.util.concurrent.ConcurrentHashMap<Path, Object> LOCAL_LOCKS =
            new java.util.concurrent.ConcurrentHashMap<>();

    private final HubSettings settings;
    private final HttpClient http;

    public HubModelResolver(HubSettings settings) {
        this.settings = settings;
        this.http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER)
                .connectTimeout(Duration.ofSeconds(10)).build();
    }

    public Path resolve(String nameOrPath) {
        Path local = Path.of(nameOrPath);
        if (Files.isDirectory(local)) {
            return local;
        }
        String id = nameOrPath;
        String revision = settings.revision();
        int at = nameOrPath.indexOf('@');
        if (at > 0) {
            id = nameOrPath.substring(0, at);
            revision = nameOrPath.substring(at + 1);
        }
        if (!ID.matcher(id).matches()) {
            throw new HubException(nameOrPath + ": neither a model directory nor a Hub id (org/name[@revision])");
        }
        Path repo = settings.cache().resolve("models--" + id.replace("/", "--"));
        return settings.offline() ? fromCache(id, revision, repo) : download(id, revision, repo);
    }

    private Path fromCache(String id, String revision, Path repo) {
        String commit = COMMIT.matcher(revision).matches() ? revision : readRef(repo, revision).orElseThrow(() ->
                new HubException(id + "@" + revision + " is not in the cache " + settings.cache()
                        + " and HF_HUB_OFFLINE is set: download it once with the network on"));
        Path snapshot = repo.resolve("snapshots").resolve(commit);
        if (!Files.isRegularFile(snapshot.resolve("config.json"))) {
            throw new HubException(id + "@" + revision + ": the cached snapshot " + snapshot
                    + " is incomplete and HF_HUB_OFFLINE is set");
        }
        log.info("Model {}@{} from the cache (HF_HUB_OFFLINE): {}", id, revision, snapshot);
        return snapshot;
    }

    private static Optional<String> readRef(Path repo, String revision) {
        try {
            Path ref = repo.resolve("refs").resolve(revision);
            return Files.isRegularFile(ref) ? Optional.of(Files.readString(ref).strip()) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private Path download(String id, String revision, Path repo) {
        JsonNode info = revisionInfo(id, revision);
        String commit = info.path("sha").asString("");
        if (!COMMIT.matcher(commit).matches()) {
            throw new HubException(id + "@" + revision + ": the Hub answered without a commit sha");
        }
        List<String> files = new ArrayList<>();
        for (JsonNode s : info.path("siblings")) {
            files.add(s.path("rfilename").asString());
        }
        List<String> wanted = wantedFiles(id, files);
        Path snapshot = repo.resolve("snapshots").resolve(commit);
        try {
            Files.createDirectories(repo.resolve("blobs"));
            Files.createDirectories(snapshot);
            for (String file : wanted) {
                Path link = snapshot.resolve(file);
                if (Files.exists(link)) {
                    continue;
                }
                fetch(id, commit, file, repo, link);
            }
            if (!revision.equals(commit)) {
                Files.createDirectories(repo.resolve("refs"));
                Path ref = repo.resolve("refs").resolve(revision);
                Files.createDirectories(ref.getParent());
                Files.writeString(ref, commit);
            }
        } catch (IOException e) {
            throw new HubException(id + ": cannot write the cache " + settings.cache() + ": " + e.getMessage(), e);
        }
        log.info("Model {}@{} is commit {}: {}", id, revision, commit, snapshot);
        return snapshot;
    }

    /**
     * What serving needs: configs, tokenizer files, and the weights: safetensors where the repository has
     * them, as transformers prefers; otherwise PyTorch's pytorch_model*.bin and their index, which the
     * loader reads without running their pickles.
     */
    static List<String> wantedFiles(String id, List<String> files) {
        List<String> wanted = new ArrayList<>();
        List<String> safetensors = new ArrayList<>();
        List<String> pickles = new ArrayList<>();
        for (String f : files) {
            if (f.contains("/")) {
                continue; // sub-folders hold other formats (onnx, original checkpoints)
            }
            if (f.endsWith(".safetensors") || f.equals("model.safetensors.index.json")) {
                safetensors.add(f);
            } else if (f.startsWith("pytorch_model") && (f.endsWith(".bin") || f.equals("pytorch_model.bin.index.json"))) {
                pickles.add(f);
            } else if (List.of("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
                    "special_tokens_map.json").contains(f)) {
                wanted.add(f);
            }
        }
        if (safetensors.stream().anyMatch(f -> f.endsWith(".safetensors"))) {
            wanted.addAll(safetensors);
        } else if (pickles.stream().anyMatch(f -> f.endsWith(".bin"))) {
            wanted.addAll(pickles);
        } else {
            throw new HubException(id + " has neither safetensors nor pytorch_model*.bin weights");
        }
        if (!wanted.contains("config.json")) {
            throw new HubException(id + " has no config.json: not a transformers model repository");
        }
        return wanted;
    }

    private JsonNode revisionInfo(String id, String revision) {
        URI uri = settings.endpoint().resolve("/api/models/" + id + "/revision/"
                + URLEncoder.encode(revision, StandardCharsets.UTF_8));
        HttpResponse<String> r = send(request(uri).GET().build(), HttpResponse.BodyHandlers.ofString(), id);
        if (r.statusCode() == 401 || r.statusCode() == 403) {
            throw new HubException(id + " is gated or private and the Hub refused access (HTTP " + r.statusCode()
                    + "): accept its licence on " + settings.endpoint() + "/" + id
                    + " and set HF_TOKEN to a token of that account");
        }
        if (r.statusCode() == 404) {
            throw new HubException(id + "@" + revision + " was not found on " + settings.endpoint()
                    + (settings.token() == null ? " (if it is private, set HF_TOKEN)" : ""));
        }
        if (r.statusCode() != 200) {
            throw new HubException(id + ": the Hub answered HTTP " + r.statusCode() + " to " + uri);
        }
        try {
            return JsonMapper.builder().build().readTree(r.body());
        } catch (JacksonException e) {
            throw new HubException(id + ": the Hub's revision answer is not JSON");
        }
    }

    private HttpRequest.Builder request(URI uri) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(Duration.ofMinutes(10))
                .header("User-Agent", "transformers-lm");
        if (settings.token() != null && uri.getHost().equals(settings.endpoint().getHost())) {
            b.header("Authorization", "Bearer " + settings.token());
        }
        return b;
    }

    private <T> HttpResponse<T> send(HttpRequest request, HttpResponse.BodyHandler<T> handler, String id) {
        try {
            return http.send(request, handler);
        } catch (ConnectException | HttpConnectTimeoutException | java.nio.channels.UnresolvedAddressException e) {
            throw new HubException(id + ": cannot reach " + settings.endpoint() + " (" + e.getClass().getSimpleName()
                    + "); without network, set HF_HUB_OFFLINE=1 to serve from the cache " + settings.cache(), e);
        } catch (IOException e) {
            throw new HubException(id + ": the connection to " + settings.endpoint() + " failed: " + e.getMessage()
                    + " (set HF_HUB_OFFLINE=1 to serve from the cache)", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HubException(id + ": interrupted while downloading", e);
        }
    }

    /** Follows redirects by hand, so that the token never travels to another host. */
    private HttpResponse<Void> head(URI uri, String id) {
        for (int hop = 0; hop < 5; hop++) {
            HttpResponse<Void> r = send(request(uri).method("HEAD", HttpRequest.BodyPublishers.noBody()).build(),
                    HttpResponse.BodyHandlers.discarding(), id);
            if (r.headers().firstValue("X-Linked-Etag").isPresent() || r.statusCode() < 300 || r.statusCode() >= 400) {
                return r;
            }
            uri = uri.resolve(r.headers().firstValue("Location").orElseThrow());
        }
        throw new HubException(id + ": too many redirects from " + uri);
    }

    private void fetch(String id, String commit, String file, Path repo, Path link) throws IOException {
        URI uri = settings.endpoint().resolve("/" + id + "/resolve/" + commit + "/" + file);
        HttpResponse<Void> head = head(uri, id);
        if (head.statusCode() == 401 || head.statusCode() == 403) {
            throw new HubException(id + ": access to " + file + " was refused (HTTP " + head.statusCode()
                    + "): accept the licence and set HF_TOKEN");
        }
        String etag = head.headers().firstValue("X-Linked-Etag").or(() -> head.headers().firstValue("ETag"))
                .map(e -> e.replace("W/", "").replace("\"", "")).orElseThrow(() ->
                        new HubException(id + ": the Hub sent no ETag for " + file));
        long size = head.headers().firstValue("X-Linked-Size").or(() -> head.headers().firstValue("Content-Length"))
                .map(Long::parseLong).orElse(-1L);
        Path blob = repo.resolve("blobs").resolve(etag);
        Path locks = settings.cache().resolve(".locks").resolve(repo.getFileName().toString());
        Files.createDirectories(locks);
        Path lockPath = locks.resolve(etag + ".lock").toAbsolutePath();
        synchronized (LOCAL_LOCKS.computeIfAbsent(lockPath, k -> new Object())) {
            try (FileChannel lockFile = FileChannel.open(lockPath, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                    FileLock lock = lockFile.lock()) {
                if (!Files.isRegularFile(blob)) {
                    Path partial = repo.resolve("blobs").resolve(etag + ".incomplete");
                    downloadBlob(id, uri, file, partial, size);
                    verify(id, file, partial, etag, size);
                    Files.move(partial, blob, StandardCopyOption.ATOMIC_MOVE);
                }
            }
        }
        Files.createDirectories(link.getParent());
        Path relative = link.getParent().relativize(blob);
        Path temporary = link.resolveSibling(link.getFileName() + "." + ProcessHandle.current().pid() + "."
                + Thread.currentThread().getId() + ".tmp");
        Files.deleteIfExists(temporary);
        Files.createSymbolicLink(temporary, relative);
        Files.move(temporary, link, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private void downloadBlob(String id, URI uri, String file, Path partial, long size) throws IOException {
        for (int attempt = 1; ; attempt++) {
            long have = Files.exists(partial) ? Files.size(partial) : 0;
            if (size >= 0 && have == size) {
                return;
            }
            try {
                transfer(id, uri, file, partial, have, size);
                return;
            } catch (IOException e) {
                if (attempt >= 5) {
                    throw new HubException(id + ": downloading " + file + " failed " + attempt + " times: " + e.getMessage(), e);
                }
                log.warn("Download of {} interrupted at {} bytes ({}); resuming", file, Files.size(partial), e.getMessage());
            }
        }
    }

    private void transfer(String id, URI uri, String file, Path partial, long from, long size) throws IOException {
        URI target = uri;
        HttpResponse<InputStream> r = null;
        for (int hop = 0; hop < 5; hop++) {
            HttpRequest.Builder b = request(target).GET();
            if (from > 0) {
                b.header("Range", "bytes=" + from + "-");
            }
            r = send(b.build(), HttpResponse.BodyHandlers.ofInputStream(), id);
            if (r.statusCode() / 100 != 3) {
                break;
            }
            r.body().close();
            target = target.resolve(r.headers().firstValue("Location").orElseThrow());
        }
        if (r.statusCode() != 200 && r.statusCode() != 206) {
            r.body().close();
            throw new HubException(id + ": downloading " + file + " got HTTP " + r.statusCode());
        }
        boolean append = from > 0 && r.statusCode() == 206;
        long done = append ? from : 0;
        long started = System.nanoTime();
        long lastLog = started;
        try (InputStream in = r.body(); OutputStream out = Files.newOutputStream(partial, StandardOpenOption.CREATE,
                append ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
            byte[] buffer = new byte[1 << 20];
            int n;
            while ((n = in.read(buffer)) > 0) {
                out.write(buffer, 0, n);
                done += n;
                long now = System.nanoTime();
                if (size > PROGRESS_MIN_BYTES && now - lastLog > 5_000_000_000L) {
                    double seconds = (now - started) / 1e9;
                    double rate = (done - (append ? from : 0)) / seconds;
                    log.info("Downloading {}: {}% of {} MB, {} MB/s, {} s left", file, done * 100 / size,
                            size / 1_000_000, String.format("%.1f", rate / 1e6), (long) ((size - done) / Math.max(rate, 1)));
                    lastLog = now;
                }
            }
        }
        if (size >= 0 && done < size) {
            throw new IOException("connection closed after " + done + " of " + size + " bytes");
        }
    }

    /** Size always; sha256 when the ETag is one (LFS files), so a corrupt blob is never trusted later. */
    private static void verify(String id, String file, Path partial, String etag, long size) throws IOException {
        long actualSize = Files.size(partial);
        if (size >= 0 && actualSize != size) {
            Files.deleteIfExists(partial);
            throw new HubException(id + ": " + file + " has " + actualSize + " bytes, expected " + size);
        }
        if (SHA256.matcher(etag).matches()) {
            String actual = sha256(partial);
            if (!actual.equals(etag)) {
                Files.deleteIfExists(partial);
                throw new HubException(id + ": " + file + " is corrupt: sha256 " + actual + ", expected " + etag);
            }
        }
    }

    private static String sha256(Path file) throws IOException {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            try (InputStream in = Files.newInputStream(file)) {
                byte[] buffer = new byte[1 << 20];
                int n;
                while ((n = in.read(buffer)) > 0) {
                    digest.update(buffer, 0, n);
                }
            }
            return HexFormat.of().formatHex(digest.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
