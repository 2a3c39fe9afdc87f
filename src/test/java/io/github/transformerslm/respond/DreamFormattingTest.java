package io.github.transformerslm.respond;

import io.github.transformerslm.chat.Hypotheses;
import io.github.transformerslm.chat.DialogPrompt;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Dream's input formatting and hypothesis post-processing, on Dream's own test dialogs. */
class DreamFormattingTest {
    @Test
    void labelsUtterancesBackwardsFromTheHuman() {
        assertThat(DialogPrompt.format("P", List.of("a", "b", "c"), "EN")).isEqualTo("P\nHuman: a\nAI: b\nHuman: c\nAI:");
        assertThat(DialogPrompt.format("P", List.of("a", "b"), "EN")).isEqualTo("P\nAI: a\nHuman: b\nAI:");
    }

    @Test
    void dreamsTestDialogs() {
        String prompt = "Respond like a friendly chatbot.";
        assertThat(DialogPrompt.format(prompt, List.of("Hi! I am Marcus. How are you today?",
                "Hi Marcus! I am fine. How are you?", "I am great. What are your plans for today?"), "EN"))
                .isEqualTo("Respond like a friendly chatbot.\nHuman: Hi! I am Marcus. How are you today?\n"
                        + "AI: Hi Marcus! I am fine. How are you?\nHuman: I am great. What are your plans for today?\nAI:");
        assertThat(DialogPrompt.format(prompt, List.of("Hi Marcus! I am fine. How are you?",
                "I am great. What are your plans for today?"), "EN"))
                .isEqualTo("Respond like a friendly chatbot.\nAI: Hi Marcus! I am fine. How are you?\n"
                        + "Human: I am great. What are your plans for today?\nAI:");
    }

    @Test
    void emptyPromptIsOmittedAndRussianUsesAssistant() {
        assertThat(DialogPrompt.format("", List.of("Привет"), "RU")).isEqualTo("Human: Привет\nAssistant:");
    }

    @Test
    void hypothesisIsCutAtTheFirstSpeakerMarkerAndTrimmed() {
        assertThat(Hypotheses.extract(" I plan to read a book.\nHuman: nice\nAI: yes")).isEqualTo("I plan to read a book.");
        assertThat(Hypotheses.extract(" Sure! User: what")).isEqualTo("Sure!");
        assertThat(Hypotheses.extract(" fine Assistant: x")).isEqualTo("fine");
    }

    @Test
    void tooShortHypothesesBecomeEmpty() {
        assertThat(Hypotheses.extract(" a\nHuman: hello")).isEmpty();
        assertThat(Hypotheses.extract("Human: hello")).isEmpty();
        assertThat(Hypotheses.extract("   ")).isEmpty();
        assertThat(Hypotheses.extract(" ok")).isEqualTo("ok");
    }
}
