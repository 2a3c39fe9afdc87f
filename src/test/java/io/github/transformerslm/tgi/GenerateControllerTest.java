package io.github.transformerslm.tgi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyBoolean;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.when;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.post;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.content;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.jsonPath;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.status;

import io.github.transformerslm.config.TestServicePropertiesConfig;
import io.github.transformerslm.web.StrictRequestBodies;
import io.github.transformerslm.serving.CompletionService;
import io.github.transformerslm.serving.CompletionService.Completion;
import io.github.transformerslm.serving.CompletionService.Prompt;
import io.github.transformerslm.serving.LoadedModel;
import io.github.transformerslm.serving.ModelHost;
import io.github.transformerslm.generation.FinishReason;
import io.github.transformerslm.generation.GeneratedSequence;
import io.github.transformerslm.generation.GenerationConfig;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.mockito.ArgumentCaptor;
import org.mockito.Mockito;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.webmvc.test.autoconfigure.WebMvcTest;
import org.springframework.context.annotation.Import;
import org.springframework.test.context.bean.override.mockito.MockitoBean;
import org.springframework.test.web.servlet.MockMvc;

/** TGI's /generate controller alone: its parameters, its options, its errors, with the model mocked. */
@WebMvcTest(GenerateController.class)
@Import({TestServicePropertiesConfig.class, StrictRequestBodies.class})
class GenerateControllerTest {
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
        when(completions.complete(any(), any(), anyBoolean(), any())).thenReturn(List.of(new Completion(3, new int[] {1, 2, 3},
                null, List.of(new GeneratedSequence(new int[] {7, 8}, new float[] {-0.1f, -0.2f}, " there", FinishReason.LENGTH, null)))));
    }

    @SuppressWarnings("unchecked")
    @Test
    void mergesTgisDefaultsUnderTheParametersAndIgnoresUnknownTopLevelKeys() throws Exception {
        mvc.perform(post("/generate").contentType("application/json")
                        .content("{\"inputs\": \"Hello\", \"parameters\": {\"temperature\": 0.5, \"do_sample\": true,"
                                + " \"return_full_text\": true}, \"junk\": 1}"))
                .andExpect(status().isOk())
                .andExpect(content().json("{\"generated_text\": \"Hello there\"}"));
        ArgumentCaptor<List<Prompt>> prompts = ArgumentCaptor.forClass(List.class);
        verify(completions).complete(prompts.capture(), any(), anyBoolean(), any());
        GenerationConfig c = prompts.getValue().get(0).config();
        assertThat(c.temperature()).isEqualTo(0.5);
        assertThat(c.maxNewTokens()).isEqualTo(100); // TGI's default
    }

    @Test
    void badBodiesNameTheirField() throws Exception {
        mvc.perform(post("/generate").contentType("application/json").content("{\"inputs\": \"\"}"))
                .andExpect(status().isBadRequest()).andExpect(jsonPath("$.field").value("inputs"));
        mvc.perform(post("/generate").contentType("application/json").content("{\"inputs\": \"hi\", \"parameters\": []}"))
                .andExpect(status().isBadRequest()).andExpect(jsonPath("$.field").value("parameters"));
        mvc.perform(post("/generate").contentType("application/json")
                        .content("{\"inputs\": \"hi\", \"parameters\": {\"max_tokens\": 3}}"))
                .andExpect(status().isBadRequest()).andExpect(jsonPath("$.field").value("parameters.max_tokens"));
        mvc.perform(post("/generate").contentType("application/json")
                        .content("{\"inputs\": \"hi\", \"parameters\": {\"best_of\": 2}}"))
                .andExpect(status().isUnprocessableContent()).andExpect(jsonPath("$.field").value("parameters.best_of"));
        mvc.perform(post("/generate").contentType("application/json")
                        .content("{\"inputs\": \"hi\", \"parameters\": {\"truncate\": 2147483648}}"))
                .andExpect(status().isUnprocessableContent()).andExpect(jsonPath("$.field").value("parameters.truncate"));
        mvc.perform(post("/generate").contentType("application/json")
                        .content("{\"inputs\": \"hi\", \"parameters\": {\"replacement\": [[\"a\", \"b\"]]}}"))
                .andExpect(status().isUnprocessableContent()).andExpect(jsonPath("$.field").value("parameters.replacement"));
    }

    @Test
    void aBodyThatDoesNotBindToTheRequestRecordNamesTheFieldAndWhatItMustBe() throws Exception {
        mvc.perform(post("/generate").contentType("application/json").content("{\"inputs\": 5}"))
                .andExpect(status().isBadRequest()).andExpect(jsonPath("$.field").value("inputs"))
                .andExpect(jsonPath("$.detail").value("inputs must be a string"));
        mvc.perform(post("/generate").contentType("application/json").content("{\"inputs\": \"hi\", \"parameters\": \"fast\"}"))
                .andExpect(status().isBadRequest()).andExpect(jsonPath("$.field").value("parameters"))
                .andExpect(jsonPath("$.detail").value("parameters must be a JSON object"));
        mvc.perform(post("/generate").contentType("application/json").content("[\"hi\"]"))
                .andExpect(status().isBadRequest()).andExpect(jsonPath("$.field").value("$"))
                .andExpect(jsonPath("$.detail").value("the request body must be a JSON object"));
        mvc.perform(post("/generate").contentType("application/json").content("{\"inputs\": "))
                .andExpect(status().isBadRequest()).andExpect(jsonPath("$.field").value("$"))
                .andExpect(jsonPath("$.detail").value("the request body is not valid JSON"));
        mvc.perform(post("/generate").contentType("application/json").content(""))
                .andExpect(status().isBadRequest()).andExpect(jsonPath("$.field").value("$"));
    }
}
