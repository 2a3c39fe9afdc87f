package io.github.transformerslm.openai;

import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyBoolean;
import static org.mockito.Mockito.when;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.get;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.post;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.jsonPath;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.status;

import io.github.transformerslm.config.TestServicePropertiesConfig;
import io.github.transformerslm.web.StrictRequestBodies;
import io.github.transformerslm.serving.CompletionService;
import io.github.transformerslm.serving.CompletionService.Completion;
import io.github.transformerslm.serving.LoadedModel;
import io.github.transformerslm.serving.ModelHost;
import io.github.transformerslm.generation.FinishReason;
import io.github.transformerslm.generation.GeneratedSequence;
import io.github.transformerslm.generation.GenerationConfig;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.mockito.Mockito;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.webmvc.test.autoconfigure.WebMvcTest;
import org.springframework.context.annotation.Import;
import org.springframework.test.context.bean.override.mockito.MockitoBean;
import org.springframework.test.web.servlet.MockMvc;

/** The OpenAI /v1/completions and /v1/models controller alone, in OpenAI's shapes, with the model mocked. */
@WebMvcTest(CompletionsController.class)
@Import({TestServicePropertiesConfig.class, StrictRequestBodies.class})
class CompletionsControllerTest {
    @Autowired
    MockMvc mvc;

    @MockitoBean
    CompletionService completions;

    @MockitoBean
    ModelHost host;

    @BeforeEach
    void model() {
        LoadedModel model = Mockito.mock(LoadedModel.class);
        when(model.generationDefaults()).thenReturn(GenerationConfig.EMPTY);
        when(completions.model()).thenReturn(model);
        when(completions.contextLength()).thenReturn(512);
        when(completions.complete(any(), any(), anyBoolean(), any())).thenReturn(List.of(new Completion(2, new int[] {1, 2},
                null, List.of(new GeneratedSequence(new int[] {5, 6, 7}, new float[3], " a story", FinishReason.LENGTH, null)))));
    }

    @Test
    void answersInOpenAisShapeWithUsage() throws Exception {
        mvc.perform(post("/v1/completions").contentType("application/json")
                        .content("{\"model\": \"m\", \"prompt\": \"Once\", \"max_tokens\": 3}"))
                .andExpect(status().isOk())
                .andExpect(jsonPath("$.object").value("text_completion"))
                .andExpect(jsonPath("$.choices[0].text").value(" a story"))
                .andExpect(jsonPath("$.choices[0].finish_reason").value("length"))
                .andExpect(jsonPath("$.usage.prompt_tokens").value(2))
                .andExpect(jsonPath("$.usage.completion_tokens").value(3))
                .andExpect(jsonPath("$.usage.total_tokens").value(5));
        mvc.perform(get("/v1/models")).andExpect(status().isOk())
                .andExpect(jsonPath("$.object").value("list"))
                .andExpect(jsonPath("$.data[0].id").value("transformers-lm-default"));
    }

    @Test
    void errorsAreOpenAisShapeNamingTheArgumentTheClientSent() throws Exception {
        refused("/v1/completions", "{\"model\": \"m\", \"prompt\": \"Once\", \"temprature\": 1}")
                .andExpect(jsonPath("$.error.param").value("temprature"))
                .andExpect(jsonPath("$.error.code").value("unknown_parameter"));
        refused("/v1/completions", "{\"model\": \"m\", \"prompt\": \"Once\", \"logprobs\": 6}")
                .andExpect(jsonPath("$.error.param").value("logprobs"));
        mvc.perform(post("/v1/completions").contentType("application/json").accept("application/xml")
                        .content("{\"model\": \"m\", \"prompt\": \"Once\"}"))
                .andExpect(status().isNotAcceptable());
    }

    @Test
    void aFieldOfTheWrongTypeIsRefusedNamingItAndWhatItMustBe() throws Exception {
        refused("/v1/completions", "{\"model\": \"m\", \"prompt\": \"Once\", \"logprobs\": 2.5}")
                .andExpect(jsonPath("$.error.param").value("logprobs"))
                .andExpect(jsonPath("$.error.message").value("logprobs must be an integer"));
        refused("/v1/completions", "{\"model\": \"m\", \"prompt\": \"Once\", \"echo\": \"yes\"}")
                .andExpect(jsonPath("$.error.param").value("echo"))
                .andExpect(jsonPath("$.error.message").value("echo must be true or false"));
        refused("/v1/completions", "{\"model\": \"m\", \"prompt\": \"Once\", \"best_of\": 3000000000}")
                .andExpect(jsonPath("$.error.param").value("best_of"))
                .andExpect(jsonPath("$.error.message").value("best_of must be an integer"));
        refused("/v1/completions", "{\"model\": \"m\", \"prompt\": \"Once\", \"stream_options\": {\"include_usage\": 1}}")
                .andExpect(jsonPath("$.error.param").value("stream_options.include_usage"));
        refused("/v1/completions", "{\"model\": ")
                .andExpect(jsonPath("$.error.message").value("the request body is not valid JSON"));
    }

    /** POSTs a JSON body to path and expects a 400; further expectations chain on the result. */
    private org.springframework.test.web.servlet.ResultActions refused(String path, String body) throws Exception {
        return mvc.perform(post(path).contentType("application/json").content(body)).andExpect(status().isBadRequest());
    }
}
