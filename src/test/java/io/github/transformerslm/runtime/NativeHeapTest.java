package io.github.transformerslm.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/** The trim before readiness reaches glibc through the JVM's diagnostic command (Linux: the image's OS). */
class NativeHeapTest {
    @Test
    @EnabledOnOs(OS.LINUX)
    void trimsThroughTheJvmsDiagnosticCommand() {
        assertThat(NativeHeap.trim()).hasValueSatisfying(report -> assertThat(report).contains("RSS"));
    }
}
