package io.github.transformerslm.generation.processors;

import io.github.transformerslm.model.nn.VectorExp;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** Small numeric helpers over one row of scores. */
public final class Scores {
    private Scores() {}

    /**
     * Softmax with the sum accumulated in double; -inf scores get probability 0. Samplers and the nucleus
     * filters take it over the whole vocabulary for every token of every row, so where the Vector API is
     * present the exponentials are taken 16 lanes at a time (as {@link #logSumExp}).
     */
    public static float[] softmax(float[] scores) {
        float max = Float.NEGATIVE_INFINITY;
        for (float s : scores) {
            max = Math.max(max, s);
        }
        float[] p = new float[scores.length];
        if (max == Float.NEGATIVE_INFINITY) {
            return p;
        }
        if (VECTOR_API) {
            VectorSums.softmax(scores, max, p);
            return p;
        }
        double sum = 0;
        for (int i = 0; i < scores.length; i++) {
            double e = Math.exp(scores[i] - max);
            p[i] = (float) e;
            sum += e;
        }
        for (int i = 0; i < p.length; i++) {
            p[i] = (float) (p[i] / sum);
        }
        return p;
    }

    /** log(softmax(scores))[index]. */
    public static float logSoftmaxAt(float[] scores, int index) {
        return (float) (scores[index] - logSumExp(scores));
    }

    /**
     * log Σ exp(scores), shifted by the maximum. It runs for every generated token over the whole
     * vocabulary, so where the Vector API is present it sums exponentials 16 lanes at a time (in float,
     * folded into a double every 1024 scores), several times faster than one exponential at a time.
     */
    public static double logSumExp(float[] scores) {
        if (VECTOR_API) {
            return VectorSums.logSumExp(scores);
        }
        float max = Float.NEGATIVE_INFINITY;
        for (float s : scores) {
            max = Math.max(max, s);
        }
        double sum = 0;
        for (float s : scores) {
            sum += Math.exp(s - max);
        }
        return max + Math.log(sum);
    }

    private static final boolean VECTOR_API = vectorApiUsable();

    private static boolean vectorApiUsable() {
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            return false;
        }
        try {
            float[] probe = new float[37];
            probe[5] = 1;
            double expected = 1 + Math.log(36 * Math.exp(-1) + 1);
            return Math.abs(VectorSums.logSumExp(probe) - expected) < 1e-5;
        } catch (LinkageError e) {
            return false;
        }
    }

    /** The Vector API code, in a class of its own so that it loads only where the module is present. */
    private static final class VectorSums {
        private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

        /** p = softmax(s), given s's maximum (above -inf: the caller answers that case). */
        static void softmax(float[] s, float max, float[] p) {
            int n = s.length;
            int end = n - n % F.length();
            double sum = 0;
            FloatVector partial = FloatVector.zero(F);
            int vectors = 0;
            for (int i = 0; i < end; i += F.length()) {
                FloatVector e = VectorExp.exp(FloatVector.fromArray(F, s, i).sub(max));
                e.intoArray(p, i);
                partial = partial.add(e);
                if (++vectors == 64) { // as in logSumExp: 1024 terms per float partial sum
                    sum += partial.reduceLanes(VectorOperators.ADD);
                    partial = FloatVector.zero(F);
                    vectors = 0;
                }
            }
            sum += partial.reduceLanes(VectorOperators.ADD);
            for (int i = end; i < n; i++) {
                p[i] = VectorExp.exp(s[i] - max);
                sum += p[i];
            }
            float inverse = (float) (1 / sum);
            for (int i = 0; i < end; i += F.length()) {
                FloatVector.fromArray(F, p, i).mul(inverse).intoArray(p, i);
            }
            for (int i = end; i < n; i++) {
                p[i] *= inverse;
            }
        }

        static double logSumExp(float[] s) {
            int n = s.length;
            int end = n - n % F.length();
            FloatVector m = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
            for (int i = 0; i < end; i += F.length()) {
                m = m.max(FloatVector.fromArray(F, s, i));
            }
            float max = m.reduceLanes(VectorOperators.MAX);
            for (int i = end; i < n; i++) {
                max = Math.max(max, s[i]);
            }
            double sum = 0;
            FloatVector partial = FloatVector.zero(F);
            int vectors = 0;
            for (int i = 0; i < end; i += F.length()) {
                partial = partial.add(VectorExp.exp(FloatVector.fromArray(F, s, i).sub(max)));
                if (++vectors == 64) { // 1024 scores: the float partial sums stay exact to about 1e-5
                    sum += partial.reduceLanes(VectorOperators.ADD);
                    partial = FloatVector.zero(F);
                    vectors = 0;
                }
            }
            sum += partial.reduceLanes(VectorOperators.ADD);
            for (int i = end; i < n; i++) {
                sum += VectorExp.exp(s[i] - max);
            }
            return max + Math.log(sum);
        }
    }

    /** The {@code k} most likely tokens with their log-probabilities, best first. */
    public static java.util.List<io.github.transformerslm.generation.SequenceListener.TokenLogprob> topLogprobs(
            float[] scores, int k) {
        boolean[] top = topIndices(scores, k);
        double logSumExp = logSumExp(scores); // once, not once per reported token
        java.util.List<io.github.transformerslm.generation.SequenceListener.TokenLogprob> out = new java.util.ArrayList<>();
        for (int i = 0; i < scores.length; i++) {
            if (top[i] && scores[i] != Float.NEGATIVE_INFINITY) {
                out.add(new io.github.transformerslm.generation.SequenceListener.TokenLogprob(i,
                        (float) (scores[i] - logSumExp)));
            }
        }
        out.sort((a, b) -> Float.compare(b.logprob(), a.logprob()));
        return out;
    }

    /** First index of the maximum, as torch.argmax. */
    public static int argmax(float[] scores) {
        int best = 0;
        for (int i = 1; i < scores.length; i++) {
            if (scores[i] > scores[best]) {
                best = i;
            }
        }
        return best;
    }

    /** Marks the {@code k} highest scores (first indices on ties). */
    public static boolean[] topIndices(float[] scores, int k) {
        boolean[] keep = new boolean[scores.length];
        for (int n = 0; n < Math.min(k, scores.length); n++) {
            int best = -1;
            for (int i = 0; i < scores.length; i++) {
                if (!keep[i] && (best < 0 || scores[i] > scores[best])) {
                    best = i;
                }
            }
            keep[best] = true;
        }
        return keep;
    }

    /** The k-th largest score, with a k-sized min-heap: O(n log k), not a sort of the whole vocabulary. */
    public static float kthLargest(float[] scores, int k) {
        float[] heap = new float[k];
        int size = 0;
        for (float s : scores) {
            if (size < k) {
                heap[size] = s;
                int i = size++;
                while (i > 0 && heap[(i - 1) / 2] > heap[i]) {
                    float t = heap[i];
                    heap[i] = heap[(i - 1) / 2];
                    heap[(i - 1) / 2] = t;
                    i = (i - 1) / 2;
                }
            } else if (s > heap[0]) {
                heap[0] = s;
                int i = 0;
                while (true) {
                    int l = 2 * i + 1;
                    int r = l + 1;
                    int smallest = i;
                    if (l < k && heap[l] < heap[smallest]) {
                        smallest = l;
                    }
                    if (r < k && heap[r] < heap[smallest]) {
                        smallest = r;
                    }
                    if (smallest == i) {
                        break;
                    }
                    float t = heap[i];
                    heap[i] = heap[smallest];
                    heap[smallest] = t;
                    i = smallest;
                }
            }
        }
        return heap[0];
    }

    /** Indices of the finite scores ordered by ascending score; stable, so equal scores keep index order. */
    public static int[] argsortAscendingFinite(float[] scores) {
        return argsortAscending(scores, null, 0);
    }

    /**
     * Indices of the finite scores whose {@code probs} are at least {@code floor} (all finite scores where
     * probs is null), by ascending score, equal scores in index order. Sorted as primitive keys (the
     * score's bits made to order as signed ints, then the index): boxed indices with a comparator were too
     * slow for a sort that runs on every token of every row that top_p filters.
     */
    public static int[] argsortAscending(float[] scores, float[] probs, double floor) {
        int count = 0; // counted first: a key array of the vocabulary's size per token would be 400 KB of garbage
        for (int i = 0; i < scores.length; i++) {
            count += scores[i] != Float.NEGATIVE_INFINITY && (probs == null || probs[i] >= floor) ? 1 : 0;
        }
        long[] keys = new long[count];
        int n = 0;
        for (int i = 0; i < scores.length; i++) {
            if (scores[i] != Float.NEGATIVE_INFINITY && (probs == null || probs[i] >= floor)) {
                int bits = Float.floatToIntBits(scores[i]);
                bits ^= (bits >> 31) & 0x7fffffff; // negative floats reversed: ascending as ints, -0 before 0
                keys[n++] = ((long) bits << 32) | i;
            }
        }
        Arrays.sort(keys);
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            out[i] = (int) keys[i];
        }
        return out;
    }
}
