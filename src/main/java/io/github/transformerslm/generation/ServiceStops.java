package io.github.transformerslm.generation;

import java.util.List;

/**
 * What ends every generation of this service besides the request's own settings: Dream's
 * ADDITIONAL_EOS_TOKENS, split into single vocabulary tokens (matched by id) and other strings
 * (matched in the decoded text).
 */
public record ServiceStops(List<Integer> eosTokenIds, List<String> strings) {
    public static final ServiceStops NONE = new ServiceStops(List.of(), List.of());
}
