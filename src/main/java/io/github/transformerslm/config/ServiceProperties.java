package io.github.transformerslm.config;

import java.util.Arrays;
import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * Everything the service is configured with, bound from {@code application.yml}, where each property
 * names the environment variable Dream's compose files use.
 *
 * @param model PRETRAINED_MODEL_NAME_OR_PATH: a local Hugging Face directory; empty serves the bundled model
 * @param halfPrecision HALF_PRECISION: 1 serves in float16
 * @param quantize QUANTIZE: int8 or int4 quantizes the projections' weights at load (none: as loaded)
 * @param loadIn8bit LOAD_IN_8BIT: 1 means QUANTIZE=int8 (transformers' from_pretrained idiom)
 * @param quantizeHead QUANTIZE_HEAD: how the language-model head is held when QUANTIZE is set: int8 (default),
 *     int4 (every matrix 4-bit) or none (the serving dtype)
 * @param generativeConfig GENERATIVE_CONFIG: the file in {@code generativeConfigsDir} with /respond's defaults
 * @param generativeConfigsDir GENERATIVE_CONFIGS_DIR: where those files live (falls back to the bundled copies)
 * @param goalsPrompt GOALS_PROMPT: the file in {@code generativeConfigsDir} with /generate_goals' meta-prompt
 *     (null: goals_prompt.txt, or goals_prompt_ru.txt for LANGUAGE=RU)
 * @param additionalEosTokens ADDITIONAL_EOS_TOKENS: comma-separated strings that end a generation
 * @param language LANGUAGE: EN or RU, picks Dream's speaker names
 * @param threads TORCH_THREADS: libtorch intra-op threads for prefill; 0 means one per available core
 * @param matmulSplit MATMUL_SPLIT: blocks a matrix product is split into, one thread each
 *     (0: one per available core; 1: off)
 * @param maxNewTokens MAX_NEW_TOKENS: the most new tokens a request may ask for
 * @param maxReturnSequences MAX_RETURN_SEQUENCES: the most sequences per prompt
 * @param defaultMaxNewTokens DEFAULT_MAX_NEW_TOKENS: used when no layer sets a length
 * @param maxQueue MAX_QUEUE: requests waiting for a place in the batch before new ones get 503
 * @param maxBatchSize MAX_BATCH_SIZE: sequences (rows) decoded together
 * @param maxBatchTokens MAX_BATCH_TOKENS: prompt tokens prefilled in one step
 * @param maxClientRequests MAX_CLIENT_REQUESTS: requests one client may have in flight (0: no limit); more get 429
 * @param requestTimeoutSeconds REQUEST_TIMEOUT: default deadline of a request (X-Request-Timeout overrides)
 * @param maxInputTokens MAX_INPUT_TOKENS: longest prompt plus new tokens accepted (0: the model's context)
 * @param chatTemplate CHAT_TEMPLATE: a Jinja chat template replacing the model's
 * @param hfEndpoint HF_ENDPOINT: the Hub or a mirror
 * @param hfHome HF_HOME: the Hugging Face cache root (models under hub/), shared with Python tools
 * @param hfToken HF_TOKEN, or Dream's HF_ACCESS_TOKEN
 * @param hfHubOffline HF_HUB_OFFLINE: 1 serves from the cache only
 * @param revision REVISION: the branch, tag or commit of a Hub id
 * @param releaseLibtorchCode RELEASE_LIBTORCH_CODE: 0 keeps libtorch's start-up code pages resident (by default they
 *     are released once the engine has started, see docs/memory.md)
 * @param apiKey API_KEY: one key, or a comma-separated list; when set, every route but health and /ping needs one
 * @param trustedProxies TRUSTED_PROXIES: comma-separated CIDRs whose X-Forwarded-For is believed (default none)
 * @param maxRequestBytes MAX_REQUEST_BYTES: the largest request body; larger ones get 413 before parsing
 * @param drainTimeoutSeconds DRAIN_TIMEOUT: how long requests in flight may run on after SIGTERM
 * @param corsAllowedOrigins CORS_ALLOWED_ORIGINS: comma-separated origins a browser page may call from (none)
 * @param exitOnLoadFailure stop the process when the model cannot be loaded (off only in tests)
 */
@ConfigurationProperties("lm")
public record ServiceProperties(
        String model,
        boolean halfPrecision,
        String quantize,
        boolean loadIn8bit,
        String quantizeHead,
        String generativeConfig,
        String generativeConfigsDir,
        String goalsPrompt,
        String additionalEosTokens,
        String language,
        int threads,
        int matmulSplit,
        int maxNewTokens,
        int maxReturnSequences,
        int defaultMaxNewTokens,
        int maxQueue,
        int maxBatchSize,
        int maxBatchTokens,
        int maxClientRequests,
        double requestTimeoutSeconds,
        int maxInputTokens,
        String chatTemplate,
        String hfEndpoint,
        String hfHome,
        String hfToken,
        boolean hfHubOffline,
        String revision,
        boolean releaseLibtorchCode,
        String apiKey,
        String trustedProxies,
        long maxRequestBytes,
        double drainTimeoutSeconds,
        String corsAllowedOrigins,
        boolean exitOnLoadFailure) {

    public ServiceProperties {
        model = model == null ? "" : model.trim();
        quantize = quantization("QUANTIZE", quantize);
        if (loadIn8bit) {
            if (quantize.equals("int4")) {
                throw new IllegalArgumentException("LOAD_IN_8BIT=1 and QUANTIZE=int4 contradict each other: set one");
            }
            quantize = "int8";
        }
        quantizeHead = quantize.equals("none") ? "none"
                : quantizeHead == null || quantizeHead.isBlank() ? "int8" : quantization("QUANTIZE_HEAD", quantizeHead);
        generativeConfig = blankTo(generativeConfig, "default_generative_config.json");
        generativeConfigsDir = blankTo(generativeConfigsDir, "generative_configs");
        goalsPrompt = goalsPrompt == null || goalsPrompt.isBlank() ? null : goalsPrompt.trim();
        additionalEosTokens = additionalEosTokens == null ? "" : additionalEosTokens;
        language = blankTo(language, "EN").toUpperCase(java.util.Locale.ROOT);
        if (!language.equals("EN") && !language.equals("RU")) {
            throw new IllegalArgumentException("LANGUAGE must be EN or RU, got " + language);
        }
        threads = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
        matmulSplit = matmulSplit > 0 ? matmulSplit : Runtime.getRuntime().availableProcessors();
        maxNewTokens = maxNewTokens > 0 ? maxNewTokens : 4096;
        maxReturnSequences = maxReturnSequences > 0 ? maxReturnSequences : 16;
        defaultMaxNewTokens = defaultMaxNewTokens > 0 ? defaultMaxNewTokens : 20;
        maxQueue = maxQueue > 0 ? maxQueue : 64;
        maxBatchSize = maxBatchSize > 0 ? maxBatchSize : 16;
        maxBatchTokens = maxBatchTokens > 0 ? maxBatchTokens : 8192;
        maxClientRequests = Math.max(0, maxClientRequests);
        requestTimeoutSeconds = requestTimeoutSeconds > 0 ? requestTimeoutSeconds : 600;
        maxInputTokens = Math.max(0, maxInputTokens);
        chatTemplate = chatTemplate == null || chatTemplate.isBlank() ? null : chatTemplate;
        hfEndpoint = blankTo(hfEndpoint, "https://huggingface.co");
        hfHome = blankTo(hfHome, System.getProperty("user.home") + "/.cache/huggingface");
        apiKey = apiKey == null ? "" : apiKey;
        trustedProxies = trustedProxies == null ? "" : trustedProxies;
        maxRequestBytes = maxRequestBytes > 0 ? maxRequestBytes : 8L * 1024 * 1024;
        drainTimeoutSeconds = drainTimeoutSeconds > 0 ? drainTimeoutSeconds : 60;
        corsAllowedOrigins = corsAllowedOrigins == null ? "" : corsAllowedOrigins;
    }

    /** int8, int4 or none, from the accepted spellings (bitsandbytes' 8bit and 4bit, llama.cpp's q8_0 and q4_0). */
    private static String quantization(String variable, String value) {
        String v = value == null ? "" : value.trim().toLowerCase(java.util.Locale.ROOT);
        return switch (v) {
            case "", "none", "0", "false" -> "none";
            case "int8", "8bit", "q8_0" -> "int8";
            case "int4", "4bit", "q4_0" -> "int4";
            default -> throw new IllegalArgumentException(variable + " must be int8, int4 or none, got " + value);
        };
    }

    /** API_KEY split on commas, blanks dropped: empty when no key is required. */
    public List<String> apiKeys() {
        return commaList(apiKey);
    }

    public List<String> trustedProxyList() {
        return commaList(trustedProxies);
    }

    public List<String> corsOrigins() {
        return commaList(corsAllowedOrigins);
    }

    public java.time.Duration drainTimeout() {
        return java.time.Duration.ofMillis((long) (drainTimeoutSeconds * 1000));
    }

    private static List<String> commaList(String value) {
        return Arrays.stream(value.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
    }

    private static String blankTo(String value, String fallback) {
        return value == null || value.isBlank() ? fallback : value.trim();
    }

    public io.github.transformerslm.hub.HubSettings hub() {
        return new io.github.transformerslm.hub.HubSettings(java.net.URI.create(hfEndpoint.replaceAll("/+$", "")),
                java.nio.file.Path.of(hfHome), hfToken, hfHubOffline, revision);
    }

    public java.time.Duration requestTimeout() {
        return java.time.Duration.ofMillis((long) (requestTimeoutSeconds * 1000));
    }

    /** ADDITIONAL_EOS_TOKENS split on commas, as Dream does; blanks dropped. */
    public List<String> additionalEosTokenList() {
        return Arrays.stream(additionalEosTokens.split(",")).filter(s -> !s.isEmpty()).toList();
    }
}
