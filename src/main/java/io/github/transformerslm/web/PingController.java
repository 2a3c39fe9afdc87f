package io.github.transformerslm.web;

import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestMethod;
import org.springframework.web.bind.annotation.RestController;

/** Dream's liveness check. */
@RestController
class PingController {
    @RequestMapping(path = "/ping", method = {RequestMethod.GET, RequestMethod.POST}, produces = "text/plain")
    String ping() {
        return "pong";
    }
}
