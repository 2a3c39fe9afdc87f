package io.github.transformerslm.chat;

/** The chat template refused the conversation (its raise_exception): the client's messages are at fault. */
public final class ConversationRejectedException extends RuntimeException {
    private final String field;

    public ConversationRejectedException(String field, String message) {
        super(message);
        this.field = field;
    }

    public String field() {
        return field;
    }
}
