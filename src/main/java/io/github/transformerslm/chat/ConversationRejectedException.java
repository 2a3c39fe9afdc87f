package io.github.transformerslm.chat;

import io.github.transformerslm.generation.RequestFieldException;

/** The chat template refused the conversation (its raise_exception): the client's messages are at fault. */
public final class ConversationRejectedException extends RequestFieldException {
    public ConversationRejectedException(String field, String message) {
        super(field, message);
    }
}
