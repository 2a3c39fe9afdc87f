package io.github.transformerslm.openai;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyBoolean;
import static org.mockito.ArgumentMatchers.anyString;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.when;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.post;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.jsonPath;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.status;

import io.github.transformerslm.config.TestServicePropertiesConfig;
import io.github.transformerslm.web.StrictRequestBodies;
import io.github.transformerslm.chat.ChatPrompts;
import io.github.transformerslm.serving.CompletionService;
import io.github.transformerslm.serving.CompletionService.Completion;
import io.github.transformerslm.serving.CompletionService.Prompt;
import io.github.transformerslm.serving.LoadedModel;
import io.github.transformerslm.serving.ModelHost;
import io.github.transformerslm.generation.FinishReason;
import io.github.transformerslm.generation.GeneratedSequence;
import io.github.transformerslm.generation.GenerationConfig;
import io.github.transformerslm.tokenizer.TextTokenizer;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.mockito.ArgumentCaptor;
import org.mockito.Mockito;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.webmvc.test.autoconfigure.WebMvcTest;
import org.springframework.context.annotation.Import;
import org.springframework.test.context.bean.override.mockito.MockitoBean;
import org.springframework.test.web.servlet.MockMvc;

/** The OpenAI /v1/chat/completions controller alone: Dream's transcript for a model without a template. */
@WebMvcTest(ChatCompletionsController.class)
@Import({TestServicePropertiesConfig.class, ChatPrompts.class, StrictRequestBodies.class})
class ChatCompletionsControllerTest {
    @Autowired
    MockMvc mvc;

    @MockitoBean
    CompletionService completions;

    @MockitoBean
    ModelHost host;

    @BeforeEach
    void model() {
        TextTokenizer tokenizer = Mockito.mock(TextTokenizer.class);
        when(tokenizer.chatTemplate()).thenReturn(Optional.empty());
        when(tokenizer.encode(anyString())).thenReturn(new int[] {1, 2, 3, 4});
        LoadedModel model = Mockito.mock(LoadedModel.class);
        when(model.generationDefaults()).thenReturn(GenerationConfig.EMPTY);
        when(model.tokenizer()).thenReturn(tokenizer);
        when(completions.model()).thenReturn(model);
        when(completions.contextLength()).thenReturn(512);
        when(completions.complete(any(), any(), anyBoolean(), any())).thenReturn(List.of(new Completion(4, new int[] {1, 2, 3, 4},
                null, List.of(new GeneratedSequence(new int[] {5, 6}, new float[2], " Hello there!", FinishReason.STOP_SEQUENCE, "\nHuman:")))));
    }

    @SuppressWarnings("unchecked")
    @Test
    void aModelWithoutATemplateGetsDreamsTranscriptAndTheAnswerIsCutAtTheNextSpeaker() throws Exception {
        mvc.perform(post("/v1/chat/completions").contentType("application/json").content("{\"model\": \"m\","
                        + " \"messages\": [{\"role\": \"system\", \"content\": \"Be kind.\"}, {\"role\": \"user\", \"content\": \"Hi\"}],"
                        + " \"max_tokens\": 8}"))
                .andExpect(status().isOk())
                .andExpect(jsonPath("$.object").value("chat.completion"))
                .andExpect(jsonPath("$.choices[0].message.role").value("assistant"))
                .andExpect(jsonPath("$.choices[0].message.content").value("Hello there!"))
                .andExpect(jsonPath("$.choices[0].finish_reason").value("stop"))
                .andExpect(jsonPath("$.usage.prompt_tokens").value(4));
        ArgumentCaptor<List<Prompt>> prompts = ArgumentCaptor.forClass(List.class);
        verify(completions).complete(prompts.capture(), any(), anyBoolean(), any());
        assertThat(prompts.getValue().get(0).text()).isEqualTo("Be kind.\nHuman: Hi\nAI:");
        assertThat(prompts.getValue().get(0).config().maxNewTokens()).isEqualTo(8);
    }

    @Test
    void badRequestsAreOpenAiErrorsNamingTheArgument() throws Exception {
        refused("/v1/chat/completions", "{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], \"tools\": [{}]}").andExpect(jsonPath("$.error.param").value("tools"));
        refused("/v1/chat/completions", "{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], \"top_logprobs\": 3}").andExpect(jsonPath("$.error.param").value("top_logprobs"));
        refused("/v1/chat/completions", "[1]").andExpect(jsonPath("$.error.type").value("invalid_request_error"));
    }

    @Test
    void aMessageOfTheWrongShapeIsRefusedNamingItsPath() throws Exception {
        refused("/v1/chat/completions", "{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": 5}]}")
                .andExpect(jsonPath("$.error.param").value("messages[1].role"))
                .andExpect(jsonPath("$.error.message").value("messages[1].role must be a string"));
        refused("/v1/chat/completions", "{\"model\": \"m\", \"messages\": \"Hi\"}")
                .andExpect(jsonPath("$.error.param").value("messages"))
                .andExpect(jsonPath("$.error.message").value("messages must be a list"));
        refused("/v1/chat/completions", "{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], \"stream\": \"true\"}")
                .andExpect(jsonPath("$.error.param").value("stream"))
                .andExpect(jsonPath("$.error.message").value("stream must be true or false"));
        refused("/v1/chat/completions", "{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": 7}]}")
                .andExpect(jsonPath("$.error.param").value("messages[0].content"));
    }

    /** POSTs a JSON body to path and expects a 400; further expectations chain on the result. */
    private org.springframework.test.web.servlet.ResultActions refused(String path, String body) throws Exception {
        return mvc.perform(post(path).contentType("application/json").content(body)).andExpect(status().isBadRequest());
    }
}
