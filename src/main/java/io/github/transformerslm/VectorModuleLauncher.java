package io.github.transformerslm;

import java.io.File;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Makes a plain {@code java -jar} as fast as the configured launches. The decode kernels use the Vector
 * API, an incubator module that Java 17 resolves only when asked ({@code --add-modules
 * jdk.incubator.vector}), and a jar's manifest cannot ask. Without it, decoding falls back to libtorch,
 * many times slower. So when this JVM lacks the module and was started as {@code java -jar}, the service
 * starts itself again in a child JVM with the module (and libtorch's passive OpenMP wait policy, which
 * the Dockerfile and the Maven plugin set), passing the same JVM options and arguments, and the parent
 * only relays signals and the exit status.
 */
final class VectorModuleLauncher {
    static final String MODULE = "jdk.incubator.vector";
    /** Set in the child, so that a JVM which still lacks the module never starts another. */
    static final String RELAUNCHED = "TRANSFORMERS_LM_RELAUNCHED";

    private VectorModuleLauncher() {}

    static boolean moduleResolved() {
        return ModuleLayer.boot().findModule(MODULE).isPresent();
    }

    /** The child's command line, or empty when this JVM has the module or was not started from one jar. */
    static Optional<List<String>> childCommand(String[] args) {
        if (moduleResolved() || System.getenv(RELAUNCHED) != null) {
            return Optional.empty();
        }
        String classPath = System.getProperty("java.class.path", "");
        Optional<String> java = ProcessHandle.current().info().command();
        if (java.isEmpty() || classPath.contains(File.pathSeparator) || !classPath.endsWith(".jar")
                || !new File(classPath).isFile()) {
            return Optional.empty();
        }
        List<String> command = new ArrayList<>();
        command.add(java.get());
        command.add("--add-modules");
        command.add(MODULE);
        command.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        command.add("-jar");
        command.add(classPath);
        command.addAll(List.of(args));
        return Optional.of(command);
    }

    /** Runs the child to its end and exits with its status; SIGTERM and Ctrl-C reach it through the hook. */
    static void relaunch(List<String> command) {
        ProcessBuilder builder = new ProcessBuilder(command).inheritIO();
        builder.environment().put(RELAUNCHED, "1");
        builder.environment().putIfAbsent("OMP_WAIT_POLICY", "PASSIVE");
        try {
            Process child = builder.start();
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                child.destroy(); // SIGTERM: the child drains and stops on its own terms
                try {
                    child.waitFor();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "relay-stop"));
            System.exit(child.waitFor());
        } catch (java.io.IOException e) {
            System.err.println("transformers-lm: could not start the JVM with --add-modules " + MODULE + " ("
                    + e.getMessage() + "); continuing without the vector kernels");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            System.exit(130);
        }
    }
}
