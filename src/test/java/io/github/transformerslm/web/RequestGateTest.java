package io.github.transformerslm.web;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.transformerslm.config.TestServiceProperties;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.mock.web.MockHttpServletRequest;

/** X-Forwarded-For is believed from TRUSTED_PROXIES only, as nginx's real_ip believes it. */
class RequestGateTest {
    static String client(String trusted, String peer, String forwarded) {
        RequestGate gate = new RequestGate(TestServiceProperties.of(Map.of("trusted-proxies", trusted)));
        MockHttpServletRequest request = new MockHttpServletRequest();
        request.setRemoteAddr(peer);
        if (forwarded != null) {
            request.addHeader("X-Forwarded-For", forwarded);
        }
        return gate.clientAddress(request);
    }

    @Test
    void forwardedForCountsOnlyFromTrustedPeersAndOnlyItsUntrustedRightmostHop() {
        assertThat(client("", "203.0.113.9", "1.1.1.1")).isEqualTo("203.0.113.9");
        assertThat(client("172.16.0.0/12", "203.0.113.9", "1.1.1.1")).isEqualTo("203.0.113.9");
        assertThat(client("172.16.0.0/12", "172.18.0.5", "1.1.1.1")).isEqualTo("1.1.1.1");
        // A client's own forged hop sits left of what the trusted proxy appended.
        assertThat(client("172.16.0.0/12", "172.18.0.5", "6.6.6.6, 198.51.100.7")).isEqualTo("198.51.100.7");
        assertThat(client("172.16.0.0/12, 10.0.0.1", "172.18.0.5", "198.51.100.7, 10.0.0.1")).isEqualTo("198.51.100.7");
        assertThat(client("172.16.0.0/12", "172.18.0.5", null)).isEqualTo("172.18.0.5");
        assertThat(client("::1/128", "0:0:0:0:0:0:0:1", "2001:db8::7")).isEqualTo("2001:db8::7");
    }
}
