package io.github.transformerslm.web;

import static org.mockito.ArgumentMatchers.any;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.never;
import static org.mockito.Mockito.when;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.get;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.post;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.content;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.status;

import io.github.transformerslm.config.TestServicePropertiesConfig;
import io.github.transformerslm.serving.ModelHost;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.webmvc.test.autoconfigure.WebMvcTest;
import org.springframework.context.annotation.Import;
import org.springframework.test.context.bean.override.mockito.MockitoBean;
import org.springframework.test.web.servlet.MockMvc;

/** Dream's liveness check answers at once, GET or POST, also while the model is still loading. */
@WebMvcTest(PingController.class)
@Import(TestServicePropertiesConfig.class)
class PingControllerTest {
    @Autowired
    MockMvc mvc;

    @MockitoBean
    ModelHost host;

    @Test
    void answersPongAsPlainText() throws Exception {
        mvc.perform(get("/ping")).andExpect(status().isOk())
                .andExpect(content().contentTypeCompatibleWith("text/plain")).andExpect(content().string("pong"));
        mvc.perform(post("/ping")).andExpect(status().isOk()).andExpect(content().string("pong"));
    }

    @Test
    void doesNotWaitForTheModelToLoad() throws Exception {
        when(host.state()).thenReturn(ModelHost.State.LOADING);
        mvc.perform(get("/ping")).andExpect(status().isOk()).andExpect(content().string("pong"));
        verify(host, never()).awaitModel(any());
    }
}
