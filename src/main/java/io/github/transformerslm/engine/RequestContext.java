package io.github.transformerslm.engine;

import jakarta.servlet.http.HttpServletRequest;
import java.time.Duration;
import java.time.Instant;

/**
 * Who asked and by when: the client key for per-client limits (the address the web layer resolved, which
 * believes X-Forwarded-For only from TRUSTED_PROXIES, else the peer address), the deadline (X-Request-Timeout seconds, at most the configured default), and the
 * client's connection, probed while a non-streaming request waits.
 */
public record RequestContext(String client, Instant deadline, ClientConnection connection) {
    public static final String TIMEOUT_HEADER = "X-Request-Timeout";
    /** Request attribute: the client's address as resolved from the peer and trusted proxies' headers. */
    public static final String CLIENT_ATTRIBUTE = RequestContext.class.getName() + ".client";

    public static RequestContext of(HttpServletRequest request, Duration defaultTimeout) {
        Object resolved = request.getAttribute(CLIENT_ATTRIBUTE);
        String client = resolved != null ? resolved.toString() : request.getRemoteAddr();
        Duration timeout = defaultTimeout;
        String header = request.getHeader(TIMEOUT_HEADER);
        if (header != null) {
            double seconds;
            try {
                seconds = Double.parseDouble(header.trim());
            } catch (NumberFormatException e) {
                throw new io.github.transformerslm.web.InvalidRequestException(TIMEOUT_HEADER,
                        TIMEOUT_HEADER + " must be a number of seconds, got '" + header + "'");
            }
            if (!(seconds > 0) || Double.isInfinite(seconds)) {
                throw new io.github.transformerslm.web.InvalidRequestException(TIMEOUT_HEADER,
                        TIMEOUT_HEADER + " must be a positive number of seconds, got '" + header + "'");
            }
            // A client may shorten its deadline, never lengthen it past what the operator allows.
            timeout = seconds * 1000 < defaultTimeout.toMillis() ? Duration.ofMillis((long) (seconds * 1000)) : defaultTimeout;
        }
        return new RequestContext(client, Instant.now().plus(timeout),
                io.github.transformerslm.web.TomcatClientConnection.of(request));
    }

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
