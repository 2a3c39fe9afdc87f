package io.github.transformerslm.tgi;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import tools.jackson.databind.node.ObjectNode;

/**
 * TGI's request body. {@code parameters} is a generation config: GenerationConfigParser reads it, naming
 * each parameter it refuses, with TGI's own options beside it ({@link GenerateController.TgiOptions}). Other
 * top-level keys ({@code stream}, clients' extras) are ignored, as TGI ignores them.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
record GenerateRequest(String inputs, ObjectNode parameters) {}
