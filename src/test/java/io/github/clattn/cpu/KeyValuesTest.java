package io.github.clattn.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The layout of K and V: rows on 64-byte boundaries where the array starts on one. */
class KeyValuesTest {
    @Test
    void leadReachesTheNext64ByteBoundary() {
        assertThat(KeyValues.alignedLead(16)).isEqualTo(12);
        assertThat(KeyValues.alignedLead(24)).isEqualTo(10);
        assertThat(KeyValues.alignedLead(64)).isZero();
        assertThat(KeyValues.alignedLead(0)).isZero();
    }

    @Test
    void everyRowStartsAtTheSameAlignmentAsTheLead() {
        Kernels kernels = JavaKernels.select();
        int lanes = kernels.lanes();
        KeyValues kv = new KeyValues(kernels, 2, 3, 40, 100, null, null);
        // the JVM's float array header plus the lead is a whole number of 64-byte lines
        assertThat((16 + KeyValues.LEAD * Float.BYTES) % 64).isZero();
        for (int b = 0; b < 2; b++) {
            for (int g = 0; g < 3; g++) {
                assertThat((kv.ktBase(b, g) - KeyValues.LEAD) % lanes).isZero();
                assertThat((kv.vBase(b, g) - KeyValues.LEAD) % lanes).isZero();
                assertThat(kv.keyStride % lanes).isZero();
            }
        }
        int last = kv.vBase(1, 2) + 99 * PackedMatrix.roundUp(40, lanes) + PackedMatrix.roundUp(40, lanes);
        assertThat(kv.v.length).isGreaterThanOrEqualTo(last);
        assertThat(kv.kt.length).isGreaterThanOrEqualTo(kv.ktBase(1, 2) + 40 * kv.keyStride);
    }

    @Test
    void putStoresEachKeyWhereTheKernelsReadIt() {
        Kernels kernels = JavaKernels.select();
        int dk = 5;
        int heads = 2;
        KeyValues kv = new KeyValues(kernels, 1, heads, dk, 7, null, null);
        float[] k = new float[3 * heads * dk];
        float[] v = new float[3 * heads * dk];
        for (int i = 0; i < k.length; i++) {
            k[i] = i + 1;
            v[i] = -(i + 1);
        }
        kv.put(k, v, 3, new int[] {4}, new int[] {3});
        for (int t = 0; t < 3; t++) {
            for (int g = 0; g < heads; g++) {
                for (int c = 0; c < dk; c++) {
                    int src = t * heads * dk + g * dk + c;
                    assertThat(kv.kt[kv.ktBase(0, g) + c * kv.keyStride + 4 + t]).isEqualTo(k[src]);
                    assertThat(kv.v[kv.vBase(0, g) + (4 + t) * kv.valueStride + c]).isEqualTo(v[src]);
                }
            }
        }
        for (int i = 0; i < KeyValues.LEAD; i++) {
            assertThat(kv.kt[i]).isZero();
            assertThat(kv.v[i]).isZero();
        }
    }
}
