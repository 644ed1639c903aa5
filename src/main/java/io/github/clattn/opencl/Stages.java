package io.github.clattn.opencl;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jocl.CL;
import org.jocl.cl_command_queue;
import org.jocl.cl_event;

/**
 * The profiling events of one call, by stage ({@code projection}, {@code attention}, ...): their
 * kernel time once the call is done, and their release in {@link #close()}, which first waits for
 * anything still enqueued (so a failed call's buffers are idle before they are reused).
 */
final class Stages implements AutoCloseable {
    private final cl_command_queue queue;
    private final Map<String, List<cl_event>> events = new LinkedHashMap<>();

    Stages(cl_command_queue queue) {
        this.queue = queue;
    }

    void add(String stage, cl_event event) {
        events.computeIfAbsent(stage, k -> new ArrayList<>()).add(event);
    }

    /** Kernel milliseconds per stage (every event complete: call after a blocking read). */
    Map<String, Double> millis() {
        Map<String, Double> m = new LinkedHashMap<>();
        events.forEach((name, list) -> m.put(name, list.stream().mapToDouble(Cl::eventMillis).sum()));
        return m;
    }

    @Override
    public void close() {
        try {
            CL.clFinish(queue);
        } catch (RuntimeException ignored) {
            // the original failure is the one worth reporting
        }
        events.values().forEach(list -> list.forEach(Cl::release));
        events.clear();
    }
}
