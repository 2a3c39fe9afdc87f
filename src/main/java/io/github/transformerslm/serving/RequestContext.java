package io.github.transformerslm.serving;

import java.time.Duration;
import java.time.Instant;

/**
 * Who asked and by when: the client key for per-client limits, the deadline, and the client's connection,
 * probed while a non-streaming request waits. The web layer builds it from the HTTP request.
 */
public record RequestContext(String client, Instant deadline, ClientConnection connection) {
    /** Ends work done for a request whose deadline has passed or whose client has gone. */
    public void checkStillWanted() {
        if (Instant.now().isAfter(deadline)) {
            throw new RequestTimeoutException("the request did not finish before its deadline");
        }
        if (connection.closed()) {
            throw new ClientDisconnectedException();
        }
    }

    /** For callers inside the service (warm-up, tests). */
    public static RequestContext internal(Duration timeout) {
        return new RequestContext("internal", Instant.now().plus(timeout), ClientConnection.UNKNOWN);
    }
}
