package io.github.clattn.opencl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.clattn.ClattnException;
import io.github.clattn.Device;
import io.github.clattn.TestDevices;
import java.util.SplittableRandom;
import org.jocl.CL;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_command_queue;
import org.jocl.cl_event;
import org.jocl.cl_mem;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link Workspace#upload}, both ways: on a CPU device a new buffer with a copy per upload of up
 * to {@link Workspace#COPIED_UPLOAD_BYTES}, the one before released (also while a queued command
 * still reads it); above that and on other devices the named buffer reused and written. Either way the data arrive whole, a failed upload is reported and the
 * workspace goes on, and nothing is left behind.
 */
class UploadTest {
    private ClContext context;
    private cl_command_queue queue;
    private int liveBefore;

    @BeforeEach
    void open() {
        liveBefore = Cl.liveObjects();
        context = ClContext.acquire(TestDevices.openCl());
        queue = Cl.createQueue(context.context, context.deviceId, false);
    }

    @AfterEach
    void close() {
        Cl.injectFault(0, 0);
        Cl.release(queue);
        context.release();
        assertThat(Cl.liveObjects()).as("%s", Cl.liveObjectsByKind()).isEqualTo(liveBefore);
    }

    private static float[] floats(SplittableRandom r, int count) {
        float[] f = new float[count];
        for (int i = 0; i < count; i++) {
            f[i] = (float) r.nextDouble(-1e3, 1e3);
        }
        return f;
    }

    private float[] readFloats(cl_mem buffer, int count) {
        float[] host = new float[count];
        Cl.read(queue, buffer, host, count);
        return host;
    }

    private int[] readInts(cl_mem buffer, int count) {
        int[] host = new int[count];
        assertThat(CL.clEnqueueReadBuffer(queue, buffer, true, 0, (long) count * Sizeof.cl_int, Pointer.to(host), 0,
                null, null)).isEqualTo(CL.CL_SUCCESS);
        return host;
    }

    @Test
    void aCpuDeviceCopiesEachUploadIntoANewBuffer() {
        assertThat(context.device.type()).isEqualTo(Device.Type.CPU);
        Workspace ws = new Workspace(context);
        try {
            SplittableRandom r = new SplittableRandom(5);
            float[] a = floats(r, 300);
            cl_mem first = ws.upload("a", queue, a, 200);
            int live = Cl.liveObjects();
            long bytes = Cl.liveBufferBytes();
            assertThat(bytes).as("the first 200 floats only").isGreaterThanOrEqualTo(800);
            assertThat(readFloats(first, 200)).isEqualTo(java.util.Arrays.copyOf(a, 200));
            float[] b = floats(r, 200);
            cl_mem second = ws.upload("a", queue, b, 200);
            assertThat(second).isNotEqualTo(first);
            assertThat(Cl.liveObjects()).as("the buffer before is released").isEqualTo(live);
            assertThat(Cl.liveBufferBytes()).isEqualTo(bytes);
            assertThat(readFloats(second, 200)).isEqualTo(b);
            // above the copied size: written into the buffer of the name, reused
            int big = (int) (Workspace.COPIED_UPLOAD_BYTES / Sizeof.cl_float) + 1;
            float[] c = floats(r, big);
            cl_mem third = ws.upload("a", queue, c, big);
            assertThat(readFloats(third, big)).isEqualTo(c);
            float[] d = floats(r, big);
            assertThat(ws.upload("a", queue, d, big)).isEqualTo(third);
            assertThat(readFloats(third, big)).isEqualTo(d);
        } finally {
            ws.release();
        }
    }

    @ParameterizedTest(name = "copyUploads={0}")
    @ValueSource(booleans = {true, false})
    void uploadsArriveWholeAndTheBufferBeforeStaysReadableByQueuedCommands(boolean copyUploads) {
        Workspace ws = new Workspace(context, copyUploads);
        int[] status = new int[1];
        cl_event gate = CL.clCreateUserEvent(context.context, status);
        assertThat(status[0]).isEqualTo(CL.CL_SUCCESS);
        try {
            SplittableRandom r = new SplittableRandom(41);
            float[] a = floats(r, 256);
            int[] seq = r.ints(57, -1000, 1000).toArray();
            cl_mem ma = ws.upload("a", queue, a, a.length);
            cl_mem ms = ws.upload("seq", queue, seq);
            cl_mem copyOfA = ws.buffer("copy", 4L * a.length);
            // nothing enqueued after this marker runs until the gate opens: the copy of "a" below is
            // still queued when "a" is uploaded again
            assertThat(CL.clEnqueueMarkerWithWaitList(queue, 1, new cl_event[] {gate}, null)).isEqualTo(CL.CL_SUCCESS);
            assertThat(CL.clEnqueueCopyBuffer(queue, ma, copyOfA, 0, 0, 4L * a.length, 0, null, null))
                    .isEqualTo(CL.CL_SUCCESS);
            float[] keep = a.clone();
            java.util.Arrays.fill(a, 0f); // the caller's array is free once upload returns
            if (copyUploads) {
                float[] again = floats(r, 256);
                cl_mem ma2 = ws.upload("a", queue, again, again.length);
                assertThat(CL.clSetUserEventStatus(gate, CL.CL_COMPLETE)).isEqualTo(CL.CL_SUCCESS);
                assertThat(readFloats(ma2, again.length)).isEqualTo(again);
            } else {
                assertThat(CL.clSetUserEventStatus(gate, CL.CL_COMPLETE)).isEqualTo(CL.CL_SUCCESS);
                float[] again = floats(r, 100);
                assertThat(ws.upload("a", queue, again, again.length)).as("reused").isEqualTo(ma);
                assertThat(readFloats(ma, again.length)).isEqualTo(again);
            }
            assertThat(readFloats(copyOfA, keep.length)).isEqualTo(keep);
            assertThat(readInts(ms, seq.length)).isEqualTo(seq);
            assertThat(ws.upload("empty", queue, new float[0], 0)).isNotNull();
            assertThat(ws.upload("empty ints", queue, new int[0])).isNotNull();
        } finally {
            CL.clSetUserEventStatus(gate, CL.CL_COMPLETE);
            CL.clReleaseEvent(gate);
            ws.release();
        }
    }

    @ParameterizedTest(name = "copyUploads={0}")
    @ValueSource(booleans = {true, false})
    void aFailedUploadIsReportedAndTheWorkspaceGoesOn(boolean copyUploads) {
        Workspace ws = new Workspace(context, copyUploads);
        try {
            SplittableRandom r = new SplittableRandom(3);
            float[] a = floats(r, 64);
            cl_mem ma = ws.upload("a", queue, a, a.length);
            int live = Cl.liveObjects();
            Cl.injectFault(1, CL.CL_OUT_OF_HOST_MEMORY);
            assertThatThrownBy(() -> ws.upload("a", queue, floats(r, 64), 64)).isInstanceOf(ClattnException.class)
                    .hasMessageContaining(copyUploads ? "clCreateBuffer" : "clEnqueueWriteBuffer")
                    .hasMessageContaining("CL_OUT_OF_HOST_MEMORY");
            assertThat(Cl.liveObjects()).isEqualTo(live);
            if (copyUploads) {
                assertThat(readFloats(ma, a.length)).as("the buffer before is kept").isEqualTo(a);
            }
            float[] b = floats(r, 64);
            assertThat(readFloats(ws.upload("a", queue, b, b.length), b.length)).isEqualTo(b);
            assertThat(Cl.liveObjects()).isEqualTo(live);
        } finally {
            ws.release();
        }
    }
}
