package io.github.transformerslm.web;

import org.junit.jupiter.api.BeforeEach;
import org.springframework.boot.test.web.server.LocalServerPort;

/** An HTTP test against the service a {@code @SpringBootTest} started on a random port: a ready client. */
public abstract class ServiceHttpTest {
    @LocalServerPort
    protected int port;

    protected ServiceClient client;

    @BeforeEach
    void ready() {
        client = ServiceClient.ready(port);
    }
}
