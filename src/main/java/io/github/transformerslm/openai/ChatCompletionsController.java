package io.github.transformerslm.openai;

import io.github.transformerslm.chat.DialogPrompt;
import io.github.transformerslm.web.RequestContexts;
import io.github.transformerslm.chat.ChatPrompts;
import io.github.transformerslm.config.ServiceProperties;
import io.github.transformerslm.serving.CompletionService;
import io.github.transformerslm.serving.CompletionService.Completion;
import io.github.transformerslm.serving.CompletionService.Prompt;
import io.github.transformerslm.serving.LoadedModel;
import io.github.transformerslm.serving.RequestContext;
import io.github.transformerslm.generation.GeneratedSequence;
import io.github.transformerslm.generation.GenerationConfig;
import io.github.transformerslm.generation.GenerationConfigParser;
import io.github.transformerslm.generation.SequenceListener.TokenLogprob;
import io.github.transformerslm.chat.Hypotheses;
import jakarta.servlet.http.HttpServletRequest;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** OpenAI's {@code POST /v1/chat/completions}, prompts rendered with the model's chat template. */
@RestController
class ChatCompletionsController {
    private static final Set<String> OWN_KEYS = Set.of("model", "messages", "stream", "stream_options", "logprobs",
            "top_logprobs", "response_format", "user", "tools", "tool_choice", "parallel_tool_calls");
    private static final Set<String> ROLES = Set.of("system", "developer", "user", "assistant", "tool");

    private final CompletionService completions;
    private final ServiceProperties properties;
    private final ChatPrompts chatPrompts;
    private final JsonMapper json;

    ChatCompletionsController(CompletionService completions, ServiceProperties properties, ChatPrompts chatPrompts,
            JsonMapper json) {
        this.completions = completions;
        this.properties = properties;
        this.chatPrompts = chatPrompts;
        this.json = json;
    }

    @io.swagger.v3.oas.annotations.tags.Tag(name = "OpenAI")
    @io.swagger.v3.oas.annotations.Operation(summary = "OpenAI chat completion", description = "Body as OpenAI's: model, messages, max_tokens or max_completion_tokens, temperature, top_p, n, stop, seed, logprobs, top_logprobs, presence_penalty, frequency_penalty, logit_bias, stream and stream_options; vLLM's top_k, min_p, repetition_penalty. Unknown keys are refused (400), as OpenAI refuses them.")
    @PostMapping(path = "/v1/chat/completions", consumes = "application/json")
    Object chat(@RequestBody JsonNode body, HttpServletRequest http) {
        RequestContext ctx = RequestContexts.of(http, properties.requestTimeout());
        OpenAiRequests.Chat request = OpenAiRequests.bind(json, body, OpenAiRequests.Chat.class);
        LoadedModel model = completions.model();
        List<Map<String, Object>> messages = messages(request.messages());
        checkResponseFormat(request.responseFormat());
        JsonNode tools = request.tools();
        if (tools != null && !tools.isNull() && !(tools.isArray() && tools.isEmpty())) {
            throw new OpenAiException(400, "tools", "unsupported", "tools are not supported by this service");
        }
        boolean logprobs = OpenAiRequests.isTrue(request.logprobs());
        int top = 0;
        if (request.topLogprobs() != null) {
            if (request.topLogprobs() < 0 || request.topLogprobs() > 20) {
                throw new OpenAiException(400, "top_logprobs", "invalid_value", "top_logprobs must be an integer from 0 to 20");
            }
            if (!logprobs) {
                throw new OpenAiException(400, "top_logprobs", "invalid_value", "top_logprobs requires logprobs: true");
            }
            top = request.topLogprobs();
        }
        boolean stream = OpenAiRequests.isTrue(request.stream());
        SamplingParameters.rememberSentKeys(http, body);
        GenerationConfig config = SamplingParameters.parse(body, OWN_KEYS, model.generationDefaults());
        ChatPrompts.Rendered rendered = chatPrompts.render(model, messages);
        if (rendered.transcript()) {
            // Dream's transcript: the model's next "Human:" or "AI:" line ends its turn.
            List<String> stops = new ArrayList<>(config.stop() != null ? config.stop() : List.of());
            for (String speaker : DialogPrompt.speakers(properties.language())) {
                stops.add("\n" + speaker + ":");
            }
            config = config.overlay(GenerationConfigParser.parse(
                    OpenAiStreams.JSON.writeValueAsString(Map.of("stop", stops))));
        }
        // The template writes its own special tokens.
        int[] ids = rendered.transcript() ? model.tokenizer().encode(rendered.text())
                : model.tokenizer().encode(rendered.text(), false);
        if (config.maxNewTokens() == null) {
            // Like OpenAI: without max_tokens, answer until the context is full (within the service's limit).
            int room = Math.min(completions.contextLength() - ids.length, properties.maxNewTokens());
            if (room < 1) {
                throw new OpenAiException(400, "messages", "context_length_exceeded", "the conversation's " + ids.length
                        + " tokens fill the model's context of " + completions.contextLength() + " tokens");
            }
            config = config.overlay(GenerationConfigParser.parse("{\"max_new_tokens\": " + room + "}"));
        }
        Prompt prompt = new Prompt(rendered.text(), ids, config, false, logprobs ? Math.max(1, top) : 0);
        String id = "chatcmpl-" + UUID.randomUUID().toString().replace("-", "");
        OpenAiBodies.Envelope envelope = new OpenAiBodies.Envelope(id, "chat.completion.chunk",
                System.currentTimeMillis() / 1000, CompletionsController.modelId(properties, model));
        if (stream) {
            CompletionService.Prepared prepared = completions.prepare(prompt, "", true);
            return OpenAiStreams.stream(completions, model, prepared, ctx, envelope, OpenAiRequests.includeUsage(request.streamOptions()),
                    (i, text) -> new OpenAiBodies.ChatChunkChoice(i, new OpenAiBodies.Delta(null, text), null, null),
                    i -> new OpenAiBodies.ChatChunkChoice(i, new OpenAiBodies.Delta("assistant", ""), null, null),
                    (i, s) -> new OpenAiBodies.ChatChunkChoice(i, new OpenAiBodies.Delta(null, null), null,
                            OpenAiStreams.finishReason(s.finishReason())));
        }
        Completion c = completions.complete(List.of(prompt), List.of(""), true, ctx).get(0);
        List<OpenAiBodies.ChatChoice> choices = new ArrayList<>();
        int completionTokens = 0;
        for (GeneratedSequence s : c.sequences()) {
            String content = rendered.transcript() ? Hypotheses.cutAtSpeaker(s.text()) : s.text();
            choices.add(new OpenAiBodies.ChatChoice(choices.size(), new OpenAiBodies.Message("assistant", content),
                    logprobs ? new OpenAiBodies.ChatLogprobs(tokenLogprobs(model, s, top)) : null,
                    OpenAiStreams.finishReason(s.finishReason())));
            completionTokens += s.tokens().length;
        }
        return envelope.as("chat.completion").with(choices, new OpenAiBodies.Usage(c.promptTokens(), completionTokens));
    }

    private static List<OpenAiBodies.TokenLogprob> tokenLogprobs(LoadedModel model, GeneratedSequence s, int top) {
        List<OpenAiBodies.TokenLogprob> out = new ArrayList<>();
        for (int i = 0; i < s.tokens().length; i++) {
            List<OpenAiBodies.TokenLogprob> alternatives = new ArrayList<>();
            if (i < s.topLogprobs().size()) {
                for (TokenLogprob alt : s.topLogprobs().get(i).subList(0, Math.min(top, s.topLogprobs().get(i).size()))) {
                    alternatives.add(entry(model, alt.token(), alt.logprob(), null));
                }
            }
            out.add(entry(model, s.tokens()[i], s.logprobs()[i], alternatives));
        }
        return out;
    }

    private static OpenAiBodies.TokenLogprob entry(LoadedModel model, int token, float logprob,
            List<OpenAiBodies.TokenLogprob> alternatives) {
        String text = model.tokenizer().decode(new int[] {token}, false);
        return new OpenAiBodies.TokenLogprob(text, logprob, OpenAiStreams.bytes(text), alternatives);
    }

    /** OpenAI messages: a role and content that is a string or a list of text parts. */
    private static List<Map<String, Object>> messages(List<OpenAiRequests.Message> messages) {
        if (messages == null || messages.isEmpty()) {
            throw new OpenAiException(400, "messages", "invalid_value", "messages must be a non-empty list");
        }
        List<Map<String, Object>> out = new ArrayList<>();
        for (int i = 0; i < messages.size(); i++) {
            OpenAiRequests.Message m = messages.get(i);
            String where = "messages[" + i + "]";
            if (m == null || m.role() == null || !ROLES.contains(m.role())) {
                throw new OpenAiException(400, where + ".role", "invalid_value",
                        where + " needs a role of system, developer, user, assistant or tool");
            }
            JsonNode content = m.content();
            String text;
            if (content == null || content.isNull()) {
                text = "";
            } else if (content.isString()) {
                text = content.asString();
            } else if (content.isArray()) {
                StringBuilder sb = new StringBuilder();
                for (JsonNode part : content) {
                    if (!part.path("type").asString("").equals("text") || !part.path("text").isString()) {
                        throw new OpenAiException(400, where + ".content", "unsupported",
                                "only text content parts are supported");
                    }
                    sb.append(part.path("text").asString());
                }
                text = sb.toString();
            } else {
                throw new OpenAiException(400, where + ".content", "invalid_type", "content must be a string or a list of parts");
            }
            Map<String, Object> message = new LinkedHashMap<>();
            message.put("role", m.role());
            message.put("content", text);
            if (m.name() != null) {
                message.put("name", m.name());
            }
            out.add(message);
        }
        return out;
    }

    /** {"type": "text"} and {"type": "json_object"} pass (the latter as a hint: output is not constrained). */
    private static void checkResponseFormat(OpenAiRequests.ResponseFormat format) {
        if (format == null) {
            return;
        }
        String type = format.type() != null ? format.type() : "";
        if (!type.equals("text") && !type.equals("json_object")) {
            throw new OpenAiException(400, "response_format", "unsupported",
                    "response_format type must be text or json_object, got '" + type + "'");
        }
    }
}
