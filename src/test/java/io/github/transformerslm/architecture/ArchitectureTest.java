package io.github.transformerslm.architecture;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.fields;
import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Packages point down only, from the libtorch runtime to the HTTP APIs, and no two packages depend on
 * each other. A class that needs something from a layer above it is in the wrong layer.
 */
class ArchitectureTest {
    static JavaClasses classes;

    @BeforeAll
    static void importMain() {
        classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("io.github.transformerslm");
    }

    @Test
    void packagesHaveNoCycles() {
        slices().matching("io.github.transformerslm.(*)..").should().beFreeOfCycles().check(classes);
    }

    /**
     * No mutable static state: what a component needs (the libtorch runtime, the matmul pool, configuration)
     * is handed to it, so tests and a second model in one JVM cannot reconfigure it behind its back.
     */
    @Test
    void staticFieldsAreFinal() {
        fields().that().areStatic().should().beFinal().check(classes);
    }

    @Test
    void layersPointDownOnly() {
        layeredArchitecture().consideringOnlyDependenciesInLayers()
                .layer("Runtime").definedBy("..transformerslm.runtime..")
                .layer("Weights").definedBy("..transformerslm.weights..")
                .layer("Model").definedBy("..transformerslm.model..")
                .layer("Generation").definedBy("..transformerslm.generation..")
                .layer("Tokenizer").definedBy("..transformerslm.tokenizer..")
                .layer("Hub").definedBy("..transformerslm.hub..")
                .layer("Config").definedBy("..transformerslm.config..")
                .layer("Serving").definedBy("..transformerslm.serving..")
                .layer("Chat").definedBy("..transformerslm.chat..")
                .layer("Stream").definedBy("..transformerslm.stream..")
                .layer("Web").definedBy("..transformerslm.web..")
                .layer("Api").definedBy("..transformerslm.respond..", "..transformerslm.tgi..", "..transformerslm.openai..")
                .whereLayer("Api").mayNotBeAccessedByAnyLayer()
                .whereLayer("Web").mayOnlyBeAccessedByLayers("Api")
                .whereLayer("Chat").mayOnlyBeAccessedByLayers("Api")
                .whereLayer("Stream").mayOnlyBeAccessedByLayers("Api")
                .whereLayer("Serving").mayOnlyBeAccessedByLayers("Chat", "Web", "Api")
                .whereLayer("Config").mayOnlyBeAccessedByLayers("Serving", "Chat", "Web", "Api")
                .whereLayer("Hub").mayOnlyBeAccessedByLayers("Config", "Serving")
                .whereLayer("Tokenizer").mayOnlyBeAccessedByLayers("Serving", "Chat", "Web", "Api")
                .whereLayer("Generation").mayOnlyBeAccessedByLayers("Tokenizer", "Serving", "Chat", "Stream", "Web", "Api")
                .whereLayer("Model").mayOnlyBeAccessedByLayers("Generation", "Serving", "Chat", "Web", "Api")
                .whereLayer("Weights").mayOnlyBeAccessedByLayers("Model", "Tokenizer", "Hub", "Serving", "Web", "Api")
                .check(classes);
    }
}
