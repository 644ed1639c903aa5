package io.github.clattn.examples.minilm;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The parts of an ONNX model file this example needs, read straight from the protobuf wire format
 * with {@link CodedInputStream} (no generated classes). Field numbers, from onnx/onnx.proto:
 *
 * <pre>
 *   ModelProto        graph = 7
 *   GraphProto        node = 1, initializer = 5
 *   NodeProto         input = 1, output = 2, name = 3, op_type = 4, attribute = 5
 *   AttributeProto    name = 1, f = 2, i = 3, t = 5
 *   TensorProto       dims = 1, data_type = 2, float_data = 4 (packed), int64_data = 7 (packed),
 *                     name = 8, raw_data = 9 (little-endian), data_location = 14 (1 = EXTERNAL)
 *   TensorProto.DataType FLOAT = 1, INT64 = 7
 * </pre>
 *
 * Only float32 and int64 tensors are decoded; other types keep their name and shape. The graph's
 * nodes are kept as well (op type, inputs, outputs, scalar attributes): exporters may give a
 * weight an anonymous name, and then the node that consumes it says what it is.
 */
final class OnnxFile {
    static final int FLOAT = 1;
    static final int INT64 = 7;

    /** One tensor: row-major, {@code floats} for FLOAT and {@code longs} for INT64, else both null. */
    record Tensor(String name, int dataType, long[] dims, float[] floats, long[] longs) {
        int size() {
            long n = 1;
            for (long d : dims) {
                n *= d;
            }
            return Math.toIntExact(n);
        }

        @Override
        public String toString() {
            return name + " " + Arrays.toString(dims) + " type " + dataType;
        }
    }

    /** One graph node; {@code floats} and {@code ints} hold its scalar attributes, {@code tensors} its tensor ones. */
    record Node(String name, String opType, List<String> inputs, List<String> outputs, Map<String, Float> floats,
                Map<String, Long> ints, Map<String, Tensor> tensors) {
    }

    private final Map<String, Tensor> initializers;
    private final List<Node> nodes;

    private OnnxFile(Map<String, Tensor> initializers, List<Node> nodes) {
        this.initializers = Collections.unmodifiableMap(initializers);
        this.nodes = Collections.unmodifiableList(nodes);
    }

    /** The graph's initializers by name, in file order. */
    Map<String, Tensor> initializers() {
        return initializers;
    }

    /** The graph's nodes, in file (topological) order. */
    List<Node> nodes() {
        return nodes;
    }

    static OnnxFile read(InputStream stream) throws IOException {
        return read(stream.readAllBytes());
    }

    static OnnxFile read(byte[] bytes) throws IOException {
        CodedInputStream in = CodedInputStream.newInstance(bytes);
        in.setSizeLimit(Integer.MAX_VALUE);
        Map<String, Tensor> initializers = new LinkedHashMap<>();
        List<Node> nodes = new ArrayList<>();
        boolean sawGraph = false;
        int tag;
        while ((tag = in.readTag()) != 0) {
            if (WireFormat.getTagFieldNumber(tag) == 7 && WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                int old = in.pushLimit(in.readRawVarint32());
                readGraph(in, initializers, nodes);
                in.popLimit(old);
                sawGraph = true;
            } else {
                in.skipField(tag);
            }
        }
        if (!sawGraph) {
            throw new IOException("not an ONNX model: no ModelProto.graph (field 7) found");
        }
        return new OnnxFile(initializers, nodes);
    }

    private static void readGraph(CodedInputStream in, Map<String, Tensor> initializers, List<Node> nodes)
            throws IOException {
        int tag;
        while ((tag = in.readTag()) != 0) {
            int field = WireFormat.getTagFieldNumber(tag);
            if (field == 5 && WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                int old = in.pushLimit(in.readRawVarint32());
                Tensor t = readTensor(in);
                in.popLimit(old);
                initializers.put(t.name(), t);
            } else if (field == 1 && WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                int old = in.pushLimit(in.readRawVarint32());
                nodes.add(readNode(in));
                in.popLimit(old);
            } else {
                in.skipField(tag);
            }
        }
    }

    private static Node readNode(CodedInputStream in) throws IOException {
        String name = "";
        String opType = "";
        List<String> inputs = new ArrayList<>();
        List<String> outputs = new ArrayList<>();
        Map<String, Float> floats = new LinkedHashMap<>();
        Map<String, Long> ints = new LinkedHashMap<>();
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        int tag;
        while ((tag = in.readTag()) != 0) {
            switch (WireFormat.getTagFieldNumber(tag)) {
                case 1 -> inputs.add(in.readStringRequireUtf8());
                case 2 -> outputs.add(in.readStringRequireUtf8());
                case 3 -> name = in.readStringRequireUtf8();
                case 4 -> opType = in.readStringRequireUtf8();
                case 5 -> {
                    int old = in.pushLimit(in.readRawVarint32());
                    readAttribute(in, floats, ints, tensors);
                    in.popLimit(old);
                }
                default -> in.skipField(tag);
            }
        }
        return new Node(name, opType, inputs, outputs, floats, ints, tensors);
    }

    private static void readAttribute(CodedInputStream in, Map<String, Float> floats, Map<String, Long> ints,
                                      Map<String, Tensor> tensors) throws IOException {
        String name = null;
        Float f = null;
        Long i = null;
        Tensor t = null;
        int tag;
        while ((tag = in.readTag()) != 0) {
            switch (WireFormat.getTagFieldNumber(tag)) {
                case 1 -> name = in.readStringRequireUtf8();
                case 2 -> f = in.readFloat();
                case 3 -> i = in.readInt64();
                case 5 -> {
                    int old = in.pushLimit(in.readRawVarint32());
                    t = readTensor(in);
                    in.popLimit(old);
                }
                default -> in.skipField(tag);
            }
        }
        if (name == null) {
            return;
        }
        if (f != null) {
            floats.put(name, f);
        }
        if (i != null) {
            ints.put(name, i);
        }
        if (t != null) {
            tensors.put(name, t);
        }
    }

    private static Tensor readTensor(CodedInputStream in) throws IOException {
        String name = "";
        int dataType = 0;
        List<Long> dims = new ArrayList<>();
        float[] floatData = null;
        int floatCount = 0;
        long[] longData = null;
        int longCount = 0;
        ByteBuffer raw = null;
        int tag;
        while ((tag = in.readTag()) != 0) {
            int field = WireFormat.getTagFieldNumber(tag);
            int wire = WireFormat.getTagWireType(tag);
            switch (field) {
                case 1 -> { // dims: repeated int64, packed or not
                    if (wire == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                        int old = in.pushLimit(in.readRawVarint32());
                        while (in.getBytesUntilLimit() > 0) {
                            dims.add(in.readInt64());
                        }
                        in.popLimit(old);
                    } else {
                        dims.add(in.readInt64());
                    }
                }
                case 2 -> dataType = in.readInt32();
                case 4 -> { // float_data: repeated float, packed or not
                    if (wire == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                        int length = in.readRawVarint32();
                        int old = in.pushLimit(length);
                        floatData = grow(floatData, floatCount + length / 4);
                        while (in.getBytesUntilLimit() > 0) {
                            floatData[floatCount++] = in.readFloat();
                        }
                        in.popLimit(old);
                    } else {
                        floatData = grow(floatData, floatCount + 1);
                        floatData[floatCount++] = in.readFloat();
                    }
                }
                case 7 -> { // int64_data: repeated int64, packed or not
                    if (wire == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                        int old = in.pushLimit(in.readRawVarint32());
                        while (in.getBytesUntilLimit() > 0) {
                            longData = grow(longData, longCount + 1);
                            longData[longCount++] = in.readInt64();
                        }
                        in.popLimit(old);
                    } else {
                        longData = grow(longData, longCount + 1);
                        longData[longCount++] = in.readInt64();
                    }
                }
                case 8 -> name = in.readStringRequireUtf8();
                case 9 -> raw = in.readByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
                case 14 -> {
                    if (in.readEnum() == 1) {
                        throw new IOException("tensor " + name + ": stored in an external file, which this reader does not follow");
                    }
                }
                default -> in.skipField(tag);
            }
        }
        long[] shape = dims.stream().mapToLong(Long::longValue).toArray();
        Tensor header = new Tensor(name, dataType, shape, null, null);
        int size = header.size();
        if (dataType == FLOAT) {
            float[] values;
            if (raw != null) {
                values = new float[raw.remaining() / 4];
                raw.asFloatBuffer().get(values);
            } else {
                values = floatData == null ? new float[0] : Arrays.copyOf(floatData, floatCount);
            }
            check(name, values.length, size);
            return new Tensor(name, dataType, shape, values, null);
        }
        if (dataType == INT64) {
            long[] values;
            if (raw != null) {
                values = new long[raw.remaining() / 8];
                raw.asLongBuffer().get(values);
            } else {
                values = longData == null ? new long[0] : Arrays.copyOf(longData, longCount);
            }
            check(name, values.length, size);
            return new Tensor(name, dataType, shape, null, values);
        }
        return header;
    }

    private static void check(String name, int got, int expected) throws IOException {
        if (got != expected) {
            throw new IOException("tensor " + name + ": " + got + " values for a shape of " + expected);
        }
    }

    private static float[] grow(float[] a, int need) {
        if (a == null) {
            return new float[Math.max(need, 16)];
        }
        return a.length >= need ? a : Arrays.copyOf(a, Math.max(need, a.length * 2));
    }

    private static long[] grow(long[] a, int need) {
        if (a == null) {
            return new long[Math.max(need, 16)];
        }
        return a.length >= need ? a : Arrays.copyOf(a, Math.max(need, a.length * 2));
    }
}
