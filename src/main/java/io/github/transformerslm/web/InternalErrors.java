package io.github.transformerslm.web;

import java.util.concurrent.ThreadLocalRandom;

/** Ids that tie a 500 answer to its log entry, without telling the client anything internal. */
public final class InternalErrors {
    private InternalErrors() {}

    public static String id() {
        return Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xFFFFFFFFFFFFL);
    }
}
