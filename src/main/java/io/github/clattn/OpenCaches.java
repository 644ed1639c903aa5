package io.github.clattn;

import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.WeakHashMap;

/**
 * The caches an {@link Attention} or {@link ScaledDotProduct} opened and that are still open. When
 * their owner closes they close too, on every device alike: a cache computes with its owner's
 * weights or device session, so none may outlive it (on OpenCL the owner's close releases their
 * storage; on the Java path nothing would, and the two would differ). Held weakly, so tracking
 * keeps nothing alive that was not before: a Java-path cache dropped without being closed is still
 * reclaimed by the garbage collector. Thread-safe.
 */
final class OpenCaches {
    private final Set<KvCache> open = Collections.synchronizedSet(Collections.newSetFromMap(new WeakHashMap<>()));

    /** Tracks {@code cache} until it closes; returns it. */
    KvCache add(KvCache cache) {
        open.add(cache);
        cache.onClose(() -> open.remove(cache));
        return cache;
    }

    /** Why a cache closed when its owner, an object of class {@code owner}, was closed. */
    static String closedOwner(String owner) {
        return "its " + owner + " was closed (close a cache before the object that opened it)";
    }

    /** Closes every tracked cache; {@code why} says why, for their later calls' errors. */
    void closeAll(String why) {
        List<KvCache> caches;
        synchronized (open) {
            caches = List.copyOf(open);
        }
        for (KvCache cache : caches) {
            cache.ownerClosed(why);
        }
        open.clear();
    }
}
