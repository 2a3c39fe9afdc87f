package io.github.transformerslm.web;

import io.github.transformerslm.config.ServiceProperties;
import io.github.transformerslm.serving.RequestContext;
import jakarta.servlet.DispatcherType;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletInputStream;
import jakarta.servlet.ReadListener;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import jakarta.servlet.http.HttpServletResponse;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.stereotype.Component;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * What every request passes before a controller sees it, in this order: the client's address (believing
 * X-Forwarded-For only from TRUSTED_PROXIES, as nginx's real_ip does); the API key (API_KEY: a Bearer
 * token, as OpenAI's SDKs send, or X-API-Key) on every route but health and /ping; the body's size
 * (MAX_REQUEST_BYTES: 413 before anything is parsed); and /error, which is not a page of its own.
 */
@Component
@Order(Ordered.HIGHEST_PRECEDENCE + 10)
class RequestGate extends OncePerRequestFilter {
    private static final Logger log = LoggerFactory.getLogger(RequestGate.class);

    private final List<byte[]> keyDigests;
    private final List<Cidr> trustedProxies;
    private final long maxRequestBytes;
    private final boolean cors;

    RequestGate(ServiceProperties properties) {
        this.keyDigests = properties.apiKeys().stream().map(RequestGate::digest).toList();
        this.trustedProxies = properties.trustedProxyList().stream().map(Cidr::parse).toList();
        this.maxRequestBytes = properties.maxRequestBytes();
        this.cors = !properties.corsOrigins().isEmpty();
        log.info("Requests: api_key={} trusted_proxies={} max_request_bytes={} cors_allowed_origins={}",
                keyDigests.isEmpty() ? "none" : keyDigests.size() + " key(s)", properties.trustedProxyList(),
                maxRequestBytes, properties.corsOrigins());
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        String path = request.getRequestURI();
        if (path.equals("/error") && request.getDispatcherType() == DispatcherType.REQUEST) {
            FilterResponses.error(request, response, 404, "Not found", "no endpoint at /error", "not-found", "not_found");
            return;
        }
        request.setAttribute(RequestContexts.CLIENT_ATTRIBUTE, clientAddress(request));
        boolean open = path.equals("/ping") || path.startsWith("/actuator/health")
                || (cors && "OPTIONS".equals(request.getMethod()) && request.getHeader("Origin") != null);
        if (!keyDigests.isEmpty() && !open && !authorized(request)) {
            response.setHeader("WWW-Authenticate", "Bearer");
            FilterResponses.error(request, response, 401, "Unauthorized",
                    "this service needs an API key: send Authorization: Bearer <key> or X-API-Key: <key>",
                    "unauthorized", "invalid_api_key");
            return;
        }
        long declared = request.getContentLengthLong();
        if (declared > maxRequestBytes) {
            tooLarge(request, response);
            return;
        }
        if (declared < 0 && hasBody(request)) {
            // Chunked: read at most one byte past the limit, then hand the controller what was read.
            byte[] body = request.getInputStream().readNBytes((int) Math.min(Integer.MAX_VALUE - 8, maxRequestBytes + 1));
            if (body.length > maxRequestBytes) {
                tooLarge(request, response);
                return;
            }
            chain.doFilter(new BufferedBody(request, body), response);
            return;
        }
        chain.doFilter(request, response);
    }

    @Override
    protected boolean shouldNotFilterErrorDispatch() {
        return true;
    }

    private void tooLarge(HttpServletRequest request, HttpServletResponse response) throws IOException {
        response.setHeader("Connection", "close");
        FilterResponses.error(request, response, 413, "Request body too large",
                "the request body is larger than MAX_REQUEST_BYTES (" + maxRequestBytes + " bytes)",
                "too-large", "request_too_large");
    }

    private static boolean hasBody(HttpServletRequest request) {
        String method = request.getMethod();
        return "POST".equals(method) || "PUT".equals(method) || "PATCH".equals(method);
    }

    private boolean authorized(HttpServletRequest request) {
        String header = request.getHeader("Authorization");
        String key = null;
        if (header != null && header.regionMatches(true, 0, "Bearer ", 0, 7)) {
            key = header.substring(7).trim();
        } else if (request.getHeader("X-API-Key") != null) {
            key = request.getHeader("X-API-Key").trim();
        }
        if (key == null) {
            return false;
        }
        // Digests of equal length compared in constant time: neither the key nor its length leaks through timing.
        byte[] offered = digest(key);
        boolean match = false;
        for (byte[] expected : keyDigests) {
            match |= MessageDigest.isEqual(offered, expected);
        }
        return match;
    }

    private static byte[] digest(String key) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The peer, unless it is a trusted proxy: then the right-most X-Forwarded-For hop that is not one
     * (a client can write anything at the left of that header; only what trusted proxies appended counts).
     */
    String clientAddress(HttpServletRequest request) {
        String peer = request.getRemoteAddr();
        if (trustedProxies.isEmpty() || !trusted(peer)) {
            return peer;
        }
        String forwarded = request.getHeader("X-Forwarded-For");
        if (forwarded == null || forwarded.isBlank()) {
            return peer;
        }
        String[] hops = forwarded.split(",");
        for (int i = hops.length - 1; i >= 0; i--) {
            String hop = hops[i].trim();
            if (!hop.isEmpty() && !trusted(hop)) {
                return hop;
            }
        }
        return hops[0].trim().isEmpty() ? peer : hops[0].trim();
    }

    private boolean trusted(String address) {
        for (Cidr c : trustedProxies) {
            if (c.contains(address)) {
                return true;
            }
        }
        return false;
    }

    /** An IPv4 or IPv6 network, e.g. 172.16.0.0/12; a bare address is a /32 or /128. */
    record Cidr(byte[] network, int prefix) {
        static Cidr parse(String text) {
            String[] parts = text.split("/", 2);
            byte[] address = literal(parts[0]);
            if (address == null) {
                throw new IllegalArgumentException("TRUSTED_PROXIES: '" + text + "' is not an IP address or CIDR");
            }
            int prefix;
            try {
                prefix = parts.length == 2 ? Integer.parseInt(parts[1]) : address.length * 8;
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("TRUSTED_PROXIES: '" + text + "' has no numeric prefix length");
            }
            if (prefix < 0 || prefix > address.length * 8) {
                throw new IllegalArgumentException("TRUSTED_PROXIES: '" + text + "' has a prefix out of range");
            }
            return new Cidr(address, prefix);
        }

        boolean contains(String text) {
            byte[] address = literal(text);
            if (address == null || address.length != network.length) {
                return false;
            }
            for (int bit = 0; bit < prefix; bit++) {
                int mask = 0x80 >>> (bit % 8);
                if ((address[bit / 8] & mask) != (network[bit / 8] & mask)) {
                    return false;
                }
            }
            return true;
        }

        /** An IP literal's bytes without any name lookup; null for anything else. */
        private static byte[] literal(String text) {
            String t = text.trim();
            boolean ipv4 = t.matches("\\d{1,3}(\\.\\d{1,3}){3}");
            boolean ipv6 = t.contains(":") && t.matches("[0-9A-Fa-f:.]+");
            if (!ipv4 && !ipv6) {
                return null;
            }
            try {
                return java.net.InetAddress.getByName(t).getAddress();
            } catch (java.net.UnknownHostException e) {
                return null;
            }
        }
    }

    /** A request whose body was read here, replayed to the controller. */
    private static final class BufferedBody extends HttpServletRequestWrapper {
        private final byte[] body;

        BufferedBody(HttpServletRequest request, byte[] body) {
            super(request);
            this.body = body;
        }

        @Override
        public ServletInputStream getInputStream() {
            InputStream in = new ByteArrayInputStream(body);
            return new ServletInputStream() {
                @Override
                public int read() throws IOException {
                    return in.read();
                }

                @Override
                public int read(byte[] b, int off, int len) throws IOException {
                    return in.read(b, off, len);
                }

                @Override
                public boolean isFinished() {
                    try {
                        return in.available() == 0;
                    } catch (IOException e) {
                        return true;
                    }
                }

                @Override
                public boolean isReady() {
                    return true;
                }

                @Override
                public void setReadListener(ReadListener listener) {
                    throw new UnsupportedOperationException();
                }
            };
        }

        @Override
        public int getContentLength() {
            return body.length;
        }

        @Override
        public long getContentLengthLong() {
            return body.length;
        }
    }
}
