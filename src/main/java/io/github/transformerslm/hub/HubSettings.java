package io.github.transformerslm.hub;

import java.net.URI;
import java.nio.file.Path;

/**
 * Where and how to reach the Hugging Face Hub, with the environment variables huggingface_hub reads.
 *
 * @param endpoint HF_ENDPOINT (a mirror, or the public Hub)
 * @param home HF_HOME; the cache is {@code home/hub}
 * @param token HF_TOKEN or Dream's HF_ACCESS_TOKEN, sent as a bearer token; null for none
 * @param offline HF_HUB_OFFLINE: use the cache only
 * @param revision REVISION: branch, tag or commit when the id names none
 */
public record HubSettings(URI endpoint, Path home, String token, boolean offline, String revision) {
    public HubSettings {
        revision = revision == null || revision.isBlank() ? "main" : revision;
        token = token == null || token.isBlank() ? null : token;
    }

    public Path cache() {
        return home.resolve("hub");
    }
}
