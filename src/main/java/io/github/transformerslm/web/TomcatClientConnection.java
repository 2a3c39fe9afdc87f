package io.github.transformerslm.web;

import io.github.transformerslm.serving.ClientConnection;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletRequestWrapper;
import jakarta.servlet.http.HttpServletRequest;
import java.io.IOException;
import java.lang.reflect.Field;
import org.apache.catalina.connector.Request;
import org.apache.catalina.connector.RequestFacade;
import org.apache.coyote.AbstractProcessor;
import org.apache.coyote.http11.Http11Processor;
import org.apache.tomcat.util.net.SocketWrapperBase;

/**
 * Notices that the client of a non-streaming request has closed its connection, on Tomcat. A servlet
 * blocked waiting for the model hears nothing of it (Tomcat watches a connection only while it reads a
 * request or writes a response), so the waiting thread asks the connection itself: a non-blocking read
 * into Tomcat's socket buffer ({@code SocketWrapperBase.isReadyForRead}) finds nothing (the client
 * waits), bytes of a pipelined next request (left in that buffer, where Tomcat reads them next), or
 * end-of-stream, which it throws. Tomcat keeps the socket wrapper to itself, so it is reached by
 * reflection; where that fails the probe answers {@link ClientConnection#UNKNOWN}. A client that
 * half-closes its side after sending its request is taken as gone, as uvicorn (vLLM's server) takes it.
 */
public final class TomcatClientConnection implements ClientConnection {
    private static final Field FACADE_REQUEST = field(RequestFacade.class, "request");
    private static final Field REQUEST_HOOK = field(org.apache.coyote.Request.class, "hook");
    private static final Field PROCESSOR_SOCKET = field(AbstractProcessor.class, "socketWrapper");

    private final SocketWrapperBase<?> socket;

    private TomcatClientConnection(SocketWrapperBase<?> socket) {
        this.socket = socket;
    }

    /** The probe for {@code request}, or {@link ClientConnection#UNKNOWN} off Tomcat. */
    public static ClientConnection of(HttpServletRequest request) {
        ServletRequest inner = request;
        while (inner instanceof ServletRequestWrapper wrapper) {
            inner = wrapper.getRequest();
        }
        if (FACADE_REQUEST == null || REQUEST_HOOK == null || PROCESSOR_SOCKET == null
                || !(inner instanceof RequestFacade facade)) {
            return ClientConnection.UNKNOWN;
        }
        try {
            Request connectorRequest = (Request) FACADE_REQUEST.get(facade);
            Object processor = REQUEST_HOOK.get(connectorRequest.getCoyoteRequest());
            // HTTP/1.1 only: an HTTP/2 stream's processor holds the connection all its streams share.
            if (!(processor instanceof Http11Processor)
                    || !(PROCESSOR_SOCKET.get(processor) instanceof SocketWrapperBase<?> socket)) {
                return ClientConnection.UNKNOWN;
            }
            return new TomcatClientConnection(socket);
        } catch (IllegalAccessException | RuntimeException e) {
            return ClientConnection.UNKNOWN;
        }
    }

    @Override
    public boolean closed() {
        if (socket.isClosed()) {
            return true;
        }
        try {
            socket.isReadyForRead(); // true: a pipelined request, kept for Tomcat; false: nothing yet
            return false;
        } catch (IOException endOfStreamOrReset) {
            return true;
        }
    }

    private static Field field(Class<?> owner, String name) {
        try {
            Field f = owner.getDeclaredField(name);
            f.setAccessible(true);
            return f;
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }
}
