package io.github.transformerslm;

import io.github.transformerslm.model.nn.VectorBoundsChecks;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

/** transformers-lm: serves one Hugging Face causal language model to dialog systems. */
@SpringBootApplication
@ConfigurationPropertiesScan
public class Application {
    public static void main(String[] args) {
        VectorModuleLauncher.childCommand(args).ifPresent(VectorModuleLauncher::relaunch);
        VectorBoundsChecks.offUnlessConfigured();
        SpringApplication.run(Application.class, args);
    }
}
