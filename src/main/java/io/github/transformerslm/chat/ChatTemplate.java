package io.github.transformerslm.chat;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import jinjava.javax.el.CompositeELResolver;

/**
 * A model's Jinja chat template, rendered the way transformers' apply_chat_template does: trim_blocks and
 * lstrip_blocks, the globals {@code raise_exception}, {@code strftime_now}, {@code bos_token},
 * {@code eos_token} and {@code add_generation_prompt}, Python string methods, and the few jinja2 forms
 * jinjava lacks ({@code {{-}} whitespace control, {@code namespace()}, {@code [::-1]}) rewritten into ones
 * it has.
 */
public final class ChatTemplate {
    private static final String RAISED = "chat template raised: ";
    /** What raise_exception said during the render on this thread: jinjava wraps the exception itself. */
    private static final ThreadLocal<String> RAISED_MESSAGE = new ThreadLocal<>();
    private static final Pattern NAMESPACE = Pattern.compile("namespace\\(([^)]*)\\)");
    private static final Pattern SET_ATTRIBUTE = Pattern.compile("\\{%(-?)\\s*set\\s+(\\w+)\\.(\\w+)\\s*=\\s*(.*?)\\s*(-?)%}");
    private static final Pattern REVERSED = Pattern.compile("([\\w.]+)\\[::-1]");

    private final String source;
    private final String template;
    private final String bosToken;
    private final String eosToken;
    private final Jinjava jinjava;

    public ChatTemplate(String source, String bosToken, String eosToken) {
        this.source = source;
        this.template = translate(source);
        this.bosToken = bosToken;
        this.eosToken = eosToken;
        CompositeELResolver resolver = new CompositeELResolver();
        resolver.add(new PythonStringMethods());
        resolver.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_ONLY);
        this.jinjava = new Jinjava(JinjavaConfig.newBuilder().withTrimBlocks(true).withLstripBlocks(true)
                .withElResolver(resolver).build());
        jinjava.getGlobalContext().registerFunction(
                new ELFunctionDefinition("", "raise_exception", ChatTemplate.class, "raiseException", String.class));
        jinjava.getGlobalContext().registerFunction(
                new ELFunctionDefinition("", "strftime_now", ChatTemplate.class, "strftimeNow", String.class));
    }

    public String source() {
        return source;
    }

    /** jinja2 syntax jinjava does not parse, rewritten to equivalents it does. */
    static String translate(String jinja) {
        String t = jinja.replaceAll("\\s*\\{\\{-", "{{").replaceAll("-}}\\s*", "}}")
                .replaceAll("\\s*\\{%-", "{%").replaceAll("-%}\\s*", "%}");
        Matcher m = NAMESPACE.matcher(t);
        StringBuilder sb = new StringBuilder();
        while (m.find()) {
            StringBuilder dict = new StringBuilder("{");
            for (String kv : m.group(1).split(",")) {
                if (kv.isBlank()) {
                    continue;
                }
                String[] p = kv.split("=", 2);
                dict.append(dict.length() > 1 ? ", " : "").append('\'').append(p[0].trim()).append("': ").append(p[1].trim());
            }
            m.appendReplacement(sb, Matcher.quoteReplacement(dict.append('}').toString()));
        }
        m.appendTail(sb);
        t = SET_ATTRIBUTE.matcher(sb.toString()).replaceAll("{% do $2.update({'$3': $4}) %}");
        return REVERSED.matcher(t).replaceAll("($1|reverse)");
    }

    /**
     * @param messages role/content maps, as the OpenAI API sends them
     * @throws ConversationRejectedException naming {@code messages} when the template rejects the conversation
     */
    public String render(List<Map<String, Object>> messages, boolean addGenerationPrompt) {
        Map<String, Object> context = new HashMap<>();
        context.put("messages", messages);
        context.put("add_generation_prompt", addGenerationPrompt);
        context.put("bos_token", bosToken == null ? "" : bosToken);
        context.put("eos_token", eosToken == null ? "" : eosToken);
        RAISED_MESSAGE.remove();
        RenderResult result = jinjava.renderForResult(template, context);
        String raised = RAISED_MESSAGE.get();
        RAISED_MESSAGE.remove();
        if (raised != null) {
            throw new ConversationRejectedException("messages", raised);
        }
        if (!result.getErrors().isEmpty()) {
            throw new IllegalStateException("the chat template failed: " + result.getErrors().get(0).getMessage());
        }
        return result.getOutput();
    }

    public static String raiseException(String message) {
        RAISED_MESSAGE.set(message);
        throw new IllegalArgumentException(RAISED + message);
    }

    public static String strftimeNow(String format) {
        // Enough of strftime for the dates templates print (Llama 3.1: "%d %b %Y").
        String java = format.replace("%d", "dd").replace("%b", "MMM").replace("%B", "MMMM").replace("%Y", "yyyy")
                .replace("%m", "MM").replace("%H", "HH").replace("%M", "mm").replace("%S", "ss");
        return LocalDateTime.now().format(DateTimeFormatter.ofPattern(java, Locale.ENGLISH));
    }
}
