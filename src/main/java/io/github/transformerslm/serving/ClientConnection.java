package io.github.transformerslm.serving;

/**
 * Whether the client of a request that is still being generated has gone. Probed by the request's own
 * thread while it waits for its sequences, so that an abandoned request frees its place in the batch
 * instead of decoding for nobody until its deadline.
 */
@FunctionalInterface
public interface ClientConnection {
    /** For servers this service cannot probe, and internal callers: never reported closed. */
    ClientConnection UNKNOWN = () -> false;

    boolean closed();
}
