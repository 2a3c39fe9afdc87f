package io.github.transformerslm.web;

import io.github.transformerslm.serving.RequestContext;
import jakarta.servlet.http.HttpServletRequest;
import java.time.Duration;
import java.time.Instant;

/**
 * A request's {@link RequestContext} from its HTTP side: the client address {@link RequestGate} resolved,
 * the deadline (X-Request-Timeout seconds, at most the configured default), and the connection.
 */
public final class RequestContexts {
    public static final String TIMEOUT_HEADER = "X-Request-Timeout";
    /** Request attribute: the client's address as resolved from the peer and trusted proxies' headers. */
    public static final String CLIENT_ATTRIBUTE = RequestContexts.class.getName() + ".client";

    private RequestContexts() {}

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
                throw new InvalidRequestException(TIMEOUT_HEADER, TIMEOUT_HEADER + " must be a number of seconds, got '"
                        + header + "'");
            }
            if (!(seconds > 0) || Double.isInfinite(seconds)) {
                throw new InvalidRequestException(TIMEOUT_HEADER, TIMEOUT_HEADER
                        + " must be a positive number of seconds, got '" + header + "'");
            }
            // A client may shorten its deadline, never lengthen it past what the operator allows.
            timeout = seconds * 1000 < defaultTimeout.toMillis() ? Duration.ofMillis((long) (seconds * 1000)) : defaultTimeout;
        }
        return new RequestContext(client, Instant.now().plus(timeout), TomcatClientConnection.of(request));
    }
}
