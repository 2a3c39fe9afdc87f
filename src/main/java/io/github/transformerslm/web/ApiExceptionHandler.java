package io.github.transformerslm.web;

import io.github.transformerslm.serving.ClientDisconnectedException;
import io.github.transformerslm.serving.ClientLimitException;
import io.github.transformerslm.serving.ModelNotReadyException;
import io.github.transformerslm.serving.RequestTimeoutException;
import io.github.transformerslm.serving.QueueFullException;
import io.github.transformerslm.generation.InvalidParameterException;
import io.github.transformerslm.generation.UnknownParameterException;
import java.net.URI;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;
import org.springframework.web.servlet.mvc.method.annotation.ResponseEntityExceptionHandler;

/**
 * Every error as an RFC 9457 problem body. Client mistakes name the field or parameter at fault;
 * an internal failure is a 500 problem, never an empty answer with 200.
 */
@RestControllerAdvice
class ApiExceptionHandler extends ResponseEntityExceptionHandler {
    private static final Logger log = LoggerFactory.getLogger(ApiExceptionHandler.class);
    private static final String RETRY_AFTER_SECONDS = "5";
    static final int CLIENT_CLOSED_REQUEST = 499;

    @ExceptionHandler(InvalidRequestException.class)
    ResponseEntity<ProblemDetail> invalidRequest(InvalidRequestException e) {
        ProblemDetail p = problem(HttpStatus.BAD_REQUEST, "Invalid request body", e.getMessage(), "invalid-request");
        p.setProperty("field", e.field());
        return ResponseEntity.status(HttpStatus.BAD_REQUEST).body(p);
    }

    /** A body that did not bind to the endpoint's request record: the field at fault, as for {@link #invalidRequest}. */
    @Override
    protected ResponseEntity<Object> handleHttpMessageNotReadable(org.springframework.http.converter.HttpMessageNotReadableException e,
            HttpHeaders headers, HttpStatusCode status, org.springframework.web.context.request.WebRequest request) {
        return ResponseEntity.status(HttpStatus.BAD_REQUEST).body(invalidRequest(JsonBodies.fieldError(e)).getBody());
    }

    @ExceptionHandler(InvalidParameterException.class)
    ResponseEntity<ProblemDetail> invalidParameter(InvalidParameterException e) {
        boolean unknown = e instanceof UnknownParameterException;
        HttpStatus status = unknown ? HttpStatus.BAD_REQUEST : HttpStatus.UNPROCESSABLE_CONTENT;
        ProblemDetail p = problem(status, unknown ? "Unknown generation parameter" : "Invalid generation parameter",
                e.getMessage(), unknown ? "unknown-parameter" : "invalid-parameter");
        p.setProperty("field", e.field());
        return ResponseEntity.status(status).body(p);
    }

    @ExceptionHandler(ModelNotReadyException.class)
    ResponseEntity<ProblemDetail> notReady(ModelNotReadyException e) {
        return unavailable(problem(HttpStatus.SERVICE_UNAVAILABLE, "Model not ready", e.getMessage(), "not-ready"));
    }

    @ExceptionHandler(QueueFullException.class)
    ResponseEntity<ProblemDetail> queueFull(QueueFullException e) {
        return unavailable(problem(HttpStatus.SERVICE_UNAVAILABLE, "Overloaded", e.getMessage(), "overloaded"));
    }

    @ExceptionHandler(RequestTimeoutException.class)
    ResponseEntity<ProblemDetail> timeout(RequestTimeoutException e) {
        return ResponseEntity.status(HttpStatus.GATEWAY_TIMEOUT)
                .body(problem(HttpStatus.GATEWAY_TIMEOUT, "Request timed out", e.getMessage(), "timeout"));
    }

    @ExceptionHandler(ClientLimitException.class)
    ResponseEntity<ProblemDetail> clientLimit(ClientLimitException e) {
        return ResponseEntity.status(HttpStatus.TOO_MANY_REQUESTS).header(HttpHeaders.RETRY_AFTER, RETRY_AFTER_SECONDS)
                .body(problem(HttpStatus.TOO_MANY_REQUESTS, "Too many requests", e.getMessage(), "client-limit"));
    }

    /** Nobody reads this answer; 499 is what nginx logs for a client that closed its request. */
    @ExceptionHandler(ClientDisconnectedException.class)
    ResponseEntity<ProblemDetail> clientGone(ClientDisconnectedException e, jakarta.servlet.http.HttpServletRequest request) {
        log.info("499 {} {}: the client closed the connection; its generation was cancelled", request.getMethod(),
                request.getRequestURI());
        ProblemDetail p = ProblemDetail.forStatusAndDetail(HttpStatusCode.valueOf(CLIENT_CLOSED_REQUEST), e.getMessage());
        p.setTitle("Client closed request");
        return ResponseEntity.status(CLIENT_CLOSED_REQUEST).body(p);
    }

    /** An Accept header this service cannot satisfy, or one that is not a media type at all. */
    @ExceptionHandler(org.springframework.http.InvalidMediaTypeException.class)
    ResponseEntity<ProblemDetail> unparsableAccept(org.springframework.http.InvalidMediaTypeException e) {
        return ResponseEntity.status(HttpStatus.NOT_ACCEPTABLE).contentType(org.springframework.http.MediaType.APPLICATION_PROBLEM_JSON)
                .body(problem(HttpStatus.NOT_ACCEPTABLE, "Not acceptable",
                        "the Accept header is not a list of media types", "not-acceptable"));
    }

    /**
     * Our own bug: logged whole under an id, answered with that id only, so that no class name or
     * internal message reaches the client.
     */
    @ExceptionHandler(Exception.class)
    ResponseEntity<ProblemDetail> internal(Exception e) {
        String id = InternalErrors.id();
        log.error("Request failed (error {})", id, e);
        ProblemDetail p = problem(HttpStatus.INTERNAL_SERVER_ERROR, "Internal error",
                "the service failed to answer; the service log has the details under error " + id, "internal");
        return ResponseEntity.status(HttpStatus.INTERNAL_SERVER_ERROR).body(p);
    }

    private static ResponseEntity<ProblemDetail> unavailable(ProblemDetail p) {
        return ResponseEntity.status(HttpStatus.SERVICE_UNAVAILABLE)
                .header(HttpHeaders.RETRY_AFTER, RETRY_AFTER_SECONDS).body(p);
    }

    private static ProblemDetail problem(HttpStatus status, String title, String detail, String type) {
        ProblemDetail p = ProblemDetail.forStatusAndDetail(status, detail);
        p.setTitle(title);
        p.setType(URI.create("https://github.com/transformers-lm/problems/" + type));
        return p;
    }
}
