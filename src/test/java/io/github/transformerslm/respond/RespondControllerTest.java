package io.github.transformerslm.respond;

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
import io.github.transformerslm.serving.ModelNotReadyException;
import io.github.transformerslm.generation.FinishReason;
import io.github.transformerslm.generation.GeneratedSequence;
import io.github.transformerslm.generation.GenerationConfig;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.mockito.ArgumentCaptor;
import org.mockito.Mockito;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.webmvc.test.autoconfigure.WebMvcTest;
import org.springframework.context.annotation.Import;
import org.springframework.test.context.bean.override.mockito.MockitoBean;
import org.springframework.test.web.servlet.MockMvc;

/** The /respond controller alone: layering of configs, post-processing, and errors, with the model mocked. */
@WebMvcTest(RespondController.class)
@Import({TestServicePropertiesConfig.class, GoalsPrompt.class, StrictRequestBodies.class})
class RespondControllerTest {
    @Autowired
    MockMvc mvc;

    @MockitoBean
    CompletionService completions;

    @MockitoBean
    ModelHost host;

    @MockitoBean
    DreamGenerativeConfig serviceDefaults;

    @SuppressWarnings("unchecked")
    @Test
    void mergesModelServiceAndRequestLayersAndCutsHypotheses() throws Exception {
        LoadedModel model = Mockito.mock(LoadedModel.class);
        when(model.generationDefaults()).thenReturn(
                io.github.transformerslm.generation.GenerationConfigParser.parse("{\"temperature\": 0.5, \"eos_token_id\": 2}"));
        when(completions.model()).thenReturn(model);
        when(serviceDefaults.config()).thenReturn(
                io.github.transformerslm.generation.GenerationConfigParser.parse("{\"max_new_tokens\": 120, \"min_new_tokens\": 8,"
                        + " \"do_sample\": true, \"temperature\": 0.9, \"top_p\": 0.9, \"num_return_sequences\": 2}"));
        when(completions.fits(any(), any())).thenReturn(true);
        when(completions.complete(any(), any(), anyBoolean(), any())).thenReturn(List.of(new Completion(5, null, null, List.of(
                new GeneratedSequence(new int[0], new float[0], " I'm fine.\nHuman: and you?", FinishReason.LENGTH, null),
                new GeneratedSequence(new int[0], new float[0], " k", FinishReason.LENGTH, null)))));

        mvc.perform(post("/respond").contentType("application/json")
                        .content("{\"dialog_contexts\": [[\"hi\", \"hello\", \"how are you?\"]], \"prompts\": [\"Be nice.\"],"
                                + " \"configs\": [{\"max_new_tokens\": 30}]}"))
                .andExpect(status().isOk())
                .andExpect(content().json("[[\"I'm fine.\", \"\"]]"));

        ArgumentCaptor<List<Prompt>> prompts = ArgumentCaptor.forClass(List.class);
        verify(completions).complete(prompts.capture(), any(), anyBoolean(), any());
        Prompt p = prompts.getValue().get(0);
        assertThat(p.text()).isEqualTo("Be nice.\nHuman: hi\nAI: hello\nHuman: how are you?\nAI:");
        GenerationConfig c = p.config();
        assertThat(c.maxNewTokens()).isEqualTo(30); // request
        assertThat(c.numReturnSequences()).isEqualTo(2); // service file
        assertThat(c.temperature()).isEqualTo(0.9); // service file over model
        assertThat(c.eosTokenId()).containsExactly(2); // model
        assertThat(c.topK()).isEqualTo(50); // transformers' default
    }

    private void modelAnswers(String... texts) {
        LoadedModel model = Mockito.mock(LoadedModel.class);
        when(model.generationDefaults()).thenReturn(GenerationConfig.EMPTY);
        when(completions.model()).thenReturn(model);
        when(serviceDefaults.config()).thenReturn(GenerationConfig.EMPTY);
        when(completions.fits(any(), any())).thenReturn(true);
        List<GeneratedSequence> sequences = java.util.Arrays.stream(texts)
                .map(t -> new GeneratedSequence(new int[0], new float[0], t, FinishReason.LENGTH, null)).toList();
        when(completions.complete(any(), any(), anyBoolean(), any())).thenReturn(List.of(new Completion(5, null, null, sequences)));
    }

    @SuppressWarnings("unchecked")
    @Test
    void generateGoalsAsksDreamsTwoTurnQuestionAndAnswersTheFirstHypothesisPerPrompt() throws Exception {
        modelAnswers(" To help the user plan trips.\nHuman: ok", " second");
        mvc.perform(post("/generate_goals").contentType("application/json")
                        .content("{\"prompts\": [\"You are a travel agent.\"], \"configs\": [null],"
                                + " \"openai_api_keys\": [null], \"openai_organizations\": [null]}"))
                .andExpect(status().isOk())
                .andExpect(content().json("[\"To help the user plan trips.\"]", org.springframework.test.json.JsonCompareMode.STRICT));
        ArgumentCaptor<List<Prompt>> prompts = ArgumentCaptor.forClass(List.class);
        verify(completions).complete(prompts.capture(), any(), anyBoolean(), any());
        String meta = GoalsPrompt.load("generative_configs", "goals_prompt.txt");
        assertThat(prompts.getValue().get(0).text()).isEqualTo(
                "AI: hi\nHuman: " + meta + "\nPrompt: '''You are a travel agent.'''\nResult:\nAI:");
    }

    @Test
    void generateGoalsChecksItsListsAsRespondDoes() throws Exception {
        refused("/generate_goals", "{\"prompts\": [\"a\", \"b\"], \"configs\": [null]}")
                .andExpect(jsonPath("$.field").value("configs"))
                .andExpect(jsonPath("$.detail").value("configs has 1 items but prompts has 2: they must be the same length"));
        refused("/generate_goals", "{\"prompts\": [7]}")
                .andExpect(jsonPath("$.field").value("prompts[0]"));
        modelAnswers("x");
        refused("/generate_goals", "{\"prompts\": [\"a\"], \"configs\": [{\"temprature\": 1}]}")
                .andExpect(jsonPath("$.field").value("configs[0].temprature"));
    }

    @Test
    void respondIgnoresDreamsSendingVariablesButNotUnknownGenerationParameters() throws Exception {
        modelAnswers(" fine");
        mvc.perform(post("/respond").contentType("application/json")
                        .content("{\"dialog_contexts\": [[\"hi\"]], \"openai_api_keys\": [null]}"))
                .andExpect(status().isOk())
                .andExpect(content().json("[[\"fine\"]]"));
        refused("/respond", "{\"dialog_contexts\": [[\"hi\"]], \"configs\": [{\"max_tokens\": 3}]}")
                .andExpect(jsonPath("$.field").value("configs[0].max_tokens"));
    }

    @Test
    void aRequestDuringTheLoadWaitsForTheModelUpToItsDeadline() throws Exception {
        when(host.state()).thenReturn(ModelHost.State.LOADING);
        when(host.awaitModel(any())).thenThrow(new ModelNotReadyException(
                "the model did not finish loading before the request's deadline"));
        java.time.Instant before = java.time.Instant.now();
        mvc.perform(post("/respond").contentType("application/json").header("X-Request-Timeout", "7")
                        .content("{\"dialog_contexts\": [[\"hi\"]]}"))
                .andExpect(status().isServiceUnavailable())
                .andExpect(org.springframework.test.web.servlet.result.MockMvcResultMatchers.header().exists("Retry-After"));
        ArgumentCaptor<java.time.Instant> deadline = ArgumentCaptor.forClass(java.time.Instant.class);
        verify(host).awaitModel(deadline.capture());
        assertThat(deadline.getValue()).isBetween(before.plusSeconds(6), before.plusSeconds(8));
    }

    @Test
    void aClientCannotRaiseItsDeadlinePastRequestTimeout() {
        org.springframework.mock.web.MockHttpServletRequest request = new org.springframework.mock.web.MockHttpServletRequest();
        request.addHeader("X-Request-Timeout", "99999999");
        java.time.Instant before = java.time.Instant.now();
        io.github.transformerslm.serving.RequestContext ctx = io.github.transformerslm.web.RequestContexts.of(request,
                java.time.Duration.ofSeconds(600));
        assertThat(ctx.deadline()).isBetween(before.plusSeconds(599), before.plusSeconds(601));
    }

    @Test
    void aLongDialogIsCutByTokenizingEachTurnOnceNewestFirst() throws Exception {
        modelAnswers(" ok");
        // Five turns fit; each turn costs 2 tokens of a 10-token budget.
        when(completions.fits(any(), any())).thenAnswer(inv -> ((String) inv.getArgument(0)).split("\n").length <= 6);
        when(completions.promptBudget(any())).thenReturn(10);
        when(completions.tokenCount(any(), org.mockito.ArgumentMatchers.anyInt())).thenReturn(2);
        StringBuilder dialog = new StringBuilder("[");
        for (int i = 0; i < 10_000; i++) {
            dialog.append(i == 0 ? "" : ", ").append("\"a\"");
        }
        mvc.perform(post("/respond").contentType("application/json")
                        .content("{\"dialog_contexts\": [" + dialog + "]], \"configs\": [{\"max_new_tokens\": 2}]}"))
                .andExpect(status().isOk())
                .andExpect(org.springframework.test.web.servlet.result.MockMvcResultMatchers.header()
                        .string("X-Dialog-Truncated-Turns", "9995"));
        // Linear: one check of the whole dialog, one of the kept turns, and one count per kept turn.
        verify(completions, Mockito.times(2)).fits(any(), any());
        verify(completions, Mockito.atMost(6)).tokenCount(any(), org.mockito.ArgumentMatchers.anyInt());
    }

    @Test
    void modelStillLoadingIs503WithRetryAfter() throws Exception {
        when(completions.model()).thenThrow(new ModelNotReadyException("the model is still loading"));
        mvc.perform(post("/respond").contentType("application/json").content("{\"dialog_contexts\": [[\"hi\"]]}"))
                .andExpect(status().isServiceUnavailable())
                .andExpect(org.springframework.test.web.servlet.result.MockMvcResultMatchers.header().exists("Retry-After"))
                .andExpect(jsonPath("$.title").value("Model not ready"));
    }

    @Test
    void internalFailureIsA500ProblemNotAnEmptyAnswer() throws Exception {
        LoadedModel model = Mockito.mock(LoadedModel.class);
        when(model.generationDefaults()).thenReturn(GenerationConfig.EMPTY);
        when(completions.model()).thenReturn(model);
        when(serviceDefaults.config()).thenReturn(GenerationConfig.EMPTY);
        when(completions.fits(any(), any())).thenReturn(true);
        when(completions.complete(any(), any(), anyBoolean(), any())).thenThrow(new IllegalStateException("boom"));
        mvc.perform(post("/respond").contentType("application/json").content("{\"dialog_contexts\": [[\"hi\"]]}"))
                .andExpect(status().isInternalServerError())
                .andExpect(content().contentTypeCompatibleWith("application/problem+json"))
                .andExpect(jsonPath("$.detail").value(org.hamcrest.Matchers.matchesPattern(
                        "the service failed to answer; the service log has the details under error [0-9a-f]+")))
                .andExpect(content().string(org.hamcrest.Matchers.not(org.hamcrest.Matchers.containsString("IllegalState"))));
    }

    @Test
    void aDreamBodyOfTheWrongShapeIsRefusedNamingThePath() throws Exception {
        modelAnswers("Hello");
        refused("/respond", "{\"dialog_contexts\": [[\"hi\", 5]]}")
                .andExpect(jsonPath("$.field").value("dialog_contexts[0][1]"))
                .andExpect(jsonPath("$.detail").value("dialog_contexts[0][1] must be a string"));
        refused("/respond", "{\"dialog_contexts\": [[\"hi\", null]]}")
                .andExpect(jsonPath("$.field").value("dialog_contexts[0]"));
        refused("/respond", "{\"dialog_contexts\": [[\"hi\"]], \"configs\": [\"greedy\"]}")
                .andExpect(jsonPath("$.field").value("configs[0]"))
                .andExpect(jsonPath("$.detail").value("configs[0] must be a JSON object"));
        refused("/generate_goals", "{\"prompts\": [null]}")
                .andExpect(jsonPath("$.field").value("prompts[0]"));
        mvc.perform(post("/respond").contentType("application/json")
                        .content("{\"dialog_contexts\": [[\"hi\"]], \"prompts\": [null], \"openai_api_keys\": [null]}"))
                .andExpect(status().isOk());
    }

    /** POSTs a JSON body to path and expects a 400; further expectations chain on the result. */
    private org.springframework.test.web.servlet.ResultActions refused(String path, String body) throws Exception {
        return mvc.perform(post(path).contentType("application/json").content(body)).andExpect(status().isBadRequest());
    }
}
