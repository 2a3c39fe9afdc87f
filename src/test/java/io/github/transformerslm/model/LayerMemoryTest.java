package io.github.transformerslm.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import io.github.transformerslm.serving.LoadedModel;
import io.github.transformerslm.serving.ModelLoader;
import io.github.transformerslm.runtime.TorchRuntime;
import io.github.transformerslm.weights.TensorDtype;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import tools.jackson.databind.node.ObjectNode;

/**
 * A forward pass frees each layer's intermediate tensors when the layer ends, not when the step does: the
 * tensors still open when {@code forward} returns are as many for a model with all its layers as for the
 * same model cut to one. (Kept to the step's end, a 16-prompt prefill of GPT-2 small held 1.1 GB.)
 */
class LayerMemoryTest {
    @TempDir
    Path tmp;

    @BeforeAll
    static void engine() {
        TorchRuntime.start(1);
    }

    static List<String> architectures() {
        return GoldenModelTest.ARCHITECTURES;
    }

    @ParameterizedTest
    @MethodSource("architectures")
    void openTensorsAfterAForwardPassDoNotGrowWithLayers(String arch) throws IOException {
        Path full = GoldenReference.directory(arch);
        ObjectNode config = Checkpoints.config(full);
        String layerKey = List.of("n_layer", "num_hidden_layers", "num_layers").stream().filter(config::has)
                .findFirst().orElseThrow();
        int layers = config.get(layerKey).intValue();
        assertThat(layers).as("golden %s layers", arch).isGreaterThan(1);
        config.put(layerKey, 1); // the later layers' weights stay in the file, unused
        Path cut = Checkpoints.write(tmp.resolve(arch), config, Checkpoints.read(full), TensorDtype.F32);
        int[] prompt = GoldenReference.of(arch).inputIds();

        int openFull = openAfterForward(full, prompt);
        int openCut = openAfterForward(cut, prompt);
        assertThat(openFull).as("%s: tensors open after a %d-layer pass vs a 1-layer pass", arch, layers)
                .isEqualTo(openCut);
    }

    /**
     * Tensors still open when forward returns, inside the step's scope: new ones of the model's manager
     * (results take the manager of an operand, weights included) and the step's.
     */
    private static int openAfterForward(Path dir, int[] ids) {
        int n = ids.length;
        try (LoadedModel loaded = ModelLoader.load(dir, DataType.FLOAT32); NDManager step = NDManager.newBaseManager();
                NDManager cacheMemory = NDManager.newBaseManager(); KvCache cache = loaded.model().newCache(cacheMemory, 1, n);
                NDScope scope = new NDScope()) {
            int modelBefore = open(loaded.manager());
            NDArray logits = loaded.model().forward(LastLogits.promptInput(step, ids, 0), cache); // [1, vocab]
            assertThat(logits.getShape().get(0)).isEqualTo(1);
            scope.suppressNotUsedWarning();
            return open(loaded.manager()) - modelBefore + open(step);
        }
    }

    private static int open(NDManager manager) {
        return (int) manager.getManagedArrays().stream().filter(a -> !a.isReleased()).count();
    }
}
