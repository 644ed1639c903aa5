package io.github.clattn.ort;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Just enough of the ONNX protobuf format to write a model with one graph: a protocol buffers
 * wire-format writer and the handful of messages a graph needs. Field numbers and enum values
 * are those of {@code onnx/onnx.proto}:
 *
 * <pre>
 *   ModelProto          ir_version 1 (int64), producer_name 2, producer_version 3, graph 7, opset_import 8
 *   OperatorSetIdProto  domain 1, version 2 (int64)
 *   GraphProto          node 1, name 2, initializer 5, doc_string 10, input 11, output 12
 *   NodeProto           input 1, output 2, name 3, op_type 4, attribute 5, domain 7
 *   AttributeProto      name 1, f 2 (float), i 3 (int64), ints 8, type 20
 *                       (AttributeType FLOAT = 1, INT = 2, INTS = 7)
 *   TensorProto         dims 1 (int64), data_type 2 (FLOAT = 1, INT64 = 7), name 8, raw_data 9
 *                       (raw_data: fixed-width little-endian values)
 *   ValueInfoProto      name 1, type 2
 *   TypeProto           tensor_type 1;  TypeProto.Tensor: elem_type 1, shape 2
 *   TensorShapeProto    dim 1;  Dimension: dim_value 1 (int64)
 * </pre>
 *
 * Messages are built bottom-up: each method returns the serialised bytes of one message, which
 * the enclosing message embeds as a length-delimited field.
 */
final class Onnx {
    /** TensorProto.DataType values used here. */
    static final int FLOAT = 1;
    static final int INT64 = 7;

    /** AttributeProto.AttributeType values used here. */
    private static final int ATTR_FLOAT = 1;
    private static final int ATTR_INT = 2;
    private static final int ATTR_INTS = 7;

    /** The domain of Microsoft's contrib operators (Attention, MultiHeadAttention). */
    static final String MS_DOMAIN = "com.microsoft";

    private Onnx() {
    }

    // ---- the wire format ----

    /** A growing buffer with the four kinds of field this format needs. */
    static final class Writer {
        private static final int VARINT = 0;
        private static final int LENGTH_DELIMITED = 2;
        private static final int FIXED32 = 5;

        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        private void rawVarint(long value) {
            // Unsigned base-128, least significant group first; a negative int64 takes 10 bytes.
            while ((value & ~0x7FL) != 0) {
                out.write((int) ((value & 0x7F) | 0x80));
                value >>>= 7;
            }
            out.write((int) value);
        }

        private void tag(int field, int wireType) {
            rawVarint(((long) field << 3) | wireType);
        }

        /** int32, int64 and enum fields (an int32 is sign-extended to 64 bits first, as protobuf does). */
        Writer varint(int field, long value) {
            tag(field, VARINT);
            rawVarint(value);
            return this;
        }

        Writer float32(int field, float value) {
            tag(field, FIXED32);
            int bits = Float.floatToRawIntBits(value);
            for (int i = 0; i < 4; i++) {
                out.write((bits >>> (8 * i)) & 0xFF);
            }
            return this;
        }

        Writer bytes(int field, byte[] value) {
            tag(field, LENGTH_DELIMITED);
            rawVarint(value.length);
            out.write(value, 0, value.length);
            return this;
        }

        Writer string(int field, String value) {
            return bytes(field, value.getBytes(StandardCharsets.UTF_8));
        }

        /** An embedded message (already serialised). */
        Writer message(int field, byte[] serialised) {
            return bytes(field, serialised);
        }

        byte[] toByteArray() {
            return out.toByteArray();
        }
    }

    // ---- ONNX messages ----

    /** TensorProto of FLOAT values, stored in raw_data. */
    static byte[] floatTensor(String name, long[] dims, float[] values) {
        ByteBuffer raw = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        raw.asFloatBuffer().put(values);
        return tensor(name, dims, FLOAT, raw.array());
    }

    /** TensorProto of INT64 values, stored in raw_data. */
    static byte[] int64Tensor(String name, long[] dims, long[] values) {
        ByteBuffer raw = ByteBuffer.allocate(8 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        raw.asLongBuffer().put(values);
        return tensor(name, dims, INT64, raw.array());
    }

    private static byte[] tensor(String name, long[] dims, int dataType, byte[] raw) {
        Writer w = new Writer();
        for (long d : dims) {
            w.varint(1, d); // dims: repeated int64, not packed in onnx.proto (proto2)
        }
        w.varint(2, dataType);
        w.string(8, name);
        w.bytes(9, raw);
        return w.toByteArray();
    }

    /** AttributeProto holding one int64. */
    static byte[] intAttr(String name, long value) {
        return new Writer().string(1, name).varint(20, ATTR_INT).varint(3, value).toByteArray();
    }

    /** AttributeProto holding one float. */
    static byte[] floatAttr(String name, float value) {
        return new Writer().string(1, name).varint(20, ATTR_FLOAT).float32(2, value).toByteArray();
    }

    /** AttributeProto holding a list of int64. */
    static byte[] intsAttr(String name, long... values) {
        Writer w = new Writer().string(1, name).varint(20, ATTR_INTS);
        for (long v : values) {
            w.varint(8, v);
        }
        return w.toByteArray();
    }

    /**
     * NodeProto. An empty input name marks an optional input that is left out (the inputs after it
     * keep their positions).
     */
    static byte[] node(String opType, String domain, String name, String[] inputs, String[] outputs, byte[]... attributes) {
        Writer w = new Writer();
        for (String in : inputs) {
            w.string(1, in);
        }
        for (String o : outputs) {
            w.string(2, o);
        }
        w.string(3, name);
        w.string(4, opType);
        for (byte[] a : attributes) {
            w.message(5, a);
        }
        if (!domain.isEmpty()) {
            w.string(7, domain);
        }
        return w.toByteArray();
    }

    /** ValueInfoProto of a tensor with a fixed shape. */
    static byte[] tensorValueInfo(String name, int elemType, long... dims) {
        Writer shape = new Writer();
        for (long d : dims) {
            shape.message(1, new Writer().varint(1, d).toByteArray()); // Dimension.dim_value
        }
        byte[] tensorType = new Writer().varint(1, elemType).message(2, shape.toByteArray()).toByteArray();
        byte[] type = new Writer().message(1, tensorType).toByteArray();
        return new Writer().string(1, name).message(2, type).toByteArray();
    }

    /** A GraphProto under construction. */
    static final class Graph {
        private final String name;
        private final List<byte[]> nodes = new ArrayList<>();
        private final List<byte[]> initializers = new ArrayList<>();
        private final List<byte[]> inputs = new ArrayList<>();
        private final List<byte[]> outputs = new ArrayList<>();

        Graph(String name) {
            this.name = name;
        }

        Graph node(byte[] node) {
            nodes.add(node);
            return this;
        }

        Graph initializer(byte[] tensor) {
            initializers.add(tensor);
            return this;
        }

        Graph input(byte[] valueInfo) {
            inputs.add(valueInfo);
            return this;
        }

        Graph output(byte[] valueInfo) {
            outputs.add(valueInfo);
            return this;
        }

        byte[] toByteArray() {
            Writer w = new Writer();
            for (byte[] n : nodes) {
                w.message(1, n);
            }
            w.string(2, name);
            for (byte[] t : initializers) {
                w.message(5, t);
            }
            for (byte[] i : inputs) {
                w.message(11, i);
            }
            for (byte[] o : outputs) {
                w.message(12, o);
            }
            return w.toByteArray();
        }
    }

    /**
     * ModelProto: IR version 8 (ONNX 1.10+), the default domain at opset 17 and, when
     * {@code contrib} is true, {@value #MS_DOMAIN} at opset 1.
     */
    static byte[] model(Graph graph, boolean contrib) {
        Writer w = new Writer();
        w.varint(1, 8);
        w.string(2, "clattn compare-ort");
        w.string(3, "0.1.0");
        w.message(7, graph.toByteArray());
        w.message(8, new Writer().string(1, "").varint(2, 17).toByteArray());
        if (contrib) {
            w.message(8, new Writer().string(1, MS_DOMAIN).varint(2, 1).toByteArray());
        }
        return w.toByteArray();
    }
}
