package io.github.clattn.examples.minilm;

import dev.langchain4j.data.embedding.Embedding;
import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.embedding.EmbeddingModel;
import dev.langchain4j.model.embedding.onnx.allminilml6v2.AllMiniLmL6V2EmbeddingModel;
import io.github.clattn.Attention;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Sentence embeddings with all-MiniLM-L6-v2, attention through clattn, checked against
 * langchain4j's {@link AllMiniLmL6V2EmbeddingModel} (ONNX Runtime) on a fixed set of sentences.
 *
 * <pre>
 *   java --add-modules jdk.incubator.vector -cp ... io.github.clattn.examples.minilm.Main [--device SPEC]
 *        [--threshold 0.99999] [--reps 3]
 * </pre>
 *
 * Exit status 0 when every sentence's cosine similarity is at least the threshold, 1 when one is
 * below, 2 on a usage error.
 */
public final class Main {
    /** Different lengths, punctuation, accents, CJK, an emoji, and one long-ish paragraph. */
    static final List<String> SENTENCES = List.of(
            "Hello, world!",
            "The quick brown fox jumps over the lazy dog.",
            "Attention is all you need — or so the 2017 paper claimed.",
            "Ça va? Die Straße war naß, el niño comió jalapeños y crème brûlée.",
            "東京は日本の首都です。",
            "Prices rose 3.5% in Q2 (vs. 2.1% in Q1); analysts expect ~4% by year-end...",
            "Emoji 🙂 and symbols like ∑, ≥ and → still have to go somewhere, don't they?",
            "Sentence embeddings map a piece of text to a single vector, so that texts with similar "
                    + "meanings end up close together: a search engine can then compare a query with "
                    + "millions of documents by their cosine similarity, cluster support tickets by topic, "
                    + "or find near-duplicate questions in a forum, all without any keyword matching, "
                    + "which is why small models such as all-MiniLM-L6-v2 are so popular for retrieval.");

    private Main() {
    }

    public static void main(String[] args) throws Exception {
        String device = "auto";
        double threshold = 0.99999;
        int reps = 3;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            String value = i + 1 < args.length ? args[i + 1] : null;
            switch (a) {
                case "--device" -> device = require(a, value);
                case "--threshold" -> threshold = Double.parseDouble(require(a, value));
                case "--reps" -> reps = Integer.parseInt(require(a, value));
                case "-h", "--help" -> {
                    usage();
                    return;
                }
                default -> {
                    System.err.println("unknown argument: " + a);
                    usage();
                    System.exit(2);
                }
            }
            i++;
        }
        if (reps < 1) {
            System.err.println("--reps: expected at least 1, got " + reps);
            System.exit(2);
        }
        System.exit(run(device, threshold, reps));
    }

    private static String require(String option, String value) {
        if (value == null) {
            System.err.println(option + ": a value is required");
            usage();
            System.exit(2);
        }
        return value;
    }

    private static void usage() {
        System.err.println("usage: Main [--device SPEC] [--threshold T] [--reps R]\n"
                + "  --device SPEC   clattn device: auto (default), cpu/java, opencl, opencl:I, gpu, ...\n"
                + "  --threshold T   minimum cosine similarity to langchain4j per sentence (default 0.99999)\n"
                + "  --reps R        timed passes over the sentence set for sentences/s (default 3)");
    }

    static int run(String deviceSpec, double threshold, int reps) throws Exception {
        long t0 = System.nanoTime();
        System.out.printf(Locale.ROOT, "all-MiniLM-L6-v2 through clattn, device spec '%s', %d sentences, %d cores%n",
                deviceSpec, SENTENCES.size(), Runtime.getRuntime().availableProcessors());

        MiniLmWeights weights = MiniLmWeights.load();
        System.out.printf(Locale.ROOT, "weights: %s from langchain4j's jar in %.1f s (%s); LayerNorm eps %.0e%n",
                MiniLmWeights.RESOURCE.substring(1), seconds(t0), weights.layoutNote, weights.embEps);

        try (MiniLmTokenizer tokenizer = MiniLmTokenizer.open();
             MiniLmEncoder encoder = new MiniLmEncoder(weights, deviceSpec)) {
            // Tokens: direct encoding, checked against the route langchain4j takes.
            int[][] ids = new int[SENTENCES.size()][];
            int same = 0;
            for (int i = 0; i < ids.length; i++) {
                ids[i] = tokenizer.ids(SENTENCES.get(i));
                int[] theirs = tokenizer.idsAsLangchain4j(SENTENCES.get(i));
                if (Arrays.equals(ids[i], theirs)) {
                    same++;
                } else {
                    System.out.println("tokenizer: sentence " + (i + 1) + " differs from langchain4j's ids; using theirs");
                    ids[i] = theirs;
                }
            }
            System.out.printf("tokenizer: %s (DJL HuggingFaceTokenizer); ids identical to langchain4j's for %d/%d sentences%n",
                    MiniLmTokenizer.RESOURCE.substring(1), same, ids.length);

            float[][] ours = encoder.embed(ids);
            String[] paths = encoder.lastPaths();
            int[] lengths = Arrays.stream(ids).mapToInt(s -> s.length).toArray();
            System.out.printf("batch: %d sentences padded to %d tokens, lengths %s (keyValidLength masks the padding)%n",
                    ids.length, Arrays.stream(lengths).max().orElse(0), Arrays.toString(lengths));
            System.out.println("clattn attention, one layer per encoder layer:");
            for (int l = 0; l < encoder.layers().size(); l++) {
                Attention a = encoder.layers().get(l);
                System.out.printf(Locale.ROOT, "  layer %d: device %s, path %s, build %.0f ms%n", l, a.device(), paths[l],
                        a.buildMillis());
            }

            EmbeddingModel reference = new AllMiniLmL6V2EmbeddingModel();
            List<TextSegment> segments = SENTENCES.stream().map(TextSegment::from).toList();
            List<Embedding> theirs = reference.embedAll(segments).content();

            System.out.println();
            System.out.printf("%-3s %6s %12s %9s %9s  %s%n", "#", "tokens", "cosine", "1-cosine", "max|diff|", "sentence");
            double worst = 1;
            int failed = 0;
            for (int i = 0; i < ids.length; i++) {
                double c = Ops.cosine(ours[i], theirs.get(i).vector());
                worst = Math.min(worst, c);
                boolean ok = c >= threshold;
                if (!ok) {
                    failed++;
                }
                System.out.printf(Locale.ROOT, "%-3d %6d %12.10f %9.1e %9.1e  %s%s%n", i + 1, ids[i].length, c, 1 - c,
                        maxAbsDiff(ours[i], theirs.get(i).vector()), shorten(SENTENCES.get(i)),
                        ok ? "" : "   BELOW " + threshold);
            }
            System.out.printf(Locale.ROOT, "worst cosine %.10f; threshold %.5f: %s%n%n", worst, threshold,
                    failed == 0 ? "all sentences pass" : failed + " sentence(s) below");

            // Throughput on the same set, tokenization included on both sides: one warm-up pass, then reps.
            double oursPerSecond = sentencesPerSecond(reps, () -> {
                int[][] batch = new int[SENTENCES.size()][];
                for (int i = 0; i < batch.length; i++) {
                    batch[i] = tokenizer.ids(SENTENCES.get(i));
                }
                encoder.embed(batch);
            });
            double theirsPerSecond = sentencesPerSecond(reps, () -> reference.embedAll(segments));
            System.out.printf(Locale.ROOT, "throughput (%d sentences, 1 warm-up + %d timed passes each):%n", SENTENCES.size(), reps);
            System.out.printf(Locale.ROOT, "  clattn encoder (%s, one padded batch): %8.1f sentences/s%n",
                    encoder.layers().get(0).device(), oursPerSecond);
            System.out.printf(Locale.ROOT, "  langchain4j AllMiniLmL6V2EmbeddingModel (ONNX Runtime): %8.1f sentences/s%n",
                    theirsPerSecond);
            System.out.printf(Locale.ROOT, "total %.1f s%n", seconds(t0));
            return failed == 0 ? 0 : 1;
        }
    }

    private static double sentencesPerSecond(int reps, Runnable pass) {
        pass.run();
        long start = System.nanoTime();
        for (int r = 0; r < reps; r++) {
            pass.run();
        }
        return reps * SENTENCES.size() / seconds(start);
    }

    private static double maxAbsDiff(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }

    private static double seconds(long since) {
        return (System.nanoTime() - since) / 1e9;
    }

    private static String shorten(String s) {
        return s.length() <= 70 ? s : s.substring(0, 67) + "...";
    }
}
