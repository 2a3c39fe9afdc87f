package io.github.transformerslm.runtime;

import java.lang.management.ManagementFactory;
import java.util.Optional;
import javax.management.JMException;
import javax.management.ObjectName;

/**
 * glibc keeps the memory libtorch frees (loading, the warm-up's prefill) for reuse instead of returning it;
 * the image trims it every few seconds ({@code -XX:TrimNativeHeapInterval}), and the service trims once
 * more before it reports ready, so that readiness is measured at the steady state. Through the JVM's own
 * {@code System.trim_native_heap} diagnostic command: glibc's {@code malloc_trim}, without native code here.
 */
public final class NativeHeap {
    private NativeHeap() {}

    /** The JVM's report ("Trim native heap: RSS+Swap: ...") or empty where the command is missing (not glibc, old JVM). */
    public static Optional<String> trim() {
        try {
            Object report = ManagementFactory.getPlatformMBeanServer().invoke(
                    new ObjectName("com.sun.management:type=DiagnosticCommand"), "systemTrimNativeHeap",
                    new Object[] {null}, new String[] {String[].class.getName()});
            return Optional.ofNullable(report).map(r -> r.toString().strip()).filter(r -> r.startsWith("Trim native heap"));
        } catch (JMException | RuntimeException e) {
            return Optional.empty();
        }
    }
}
