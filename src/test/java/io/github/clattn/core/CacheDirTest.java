package io.github.clattn.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Cache files (program binaries run to tens of MB on PoCL) are read and written without leaving a
 * direct buffer of their size behind in the thread, as a channel read does ({@code Files.readAllBytes}:
 * the JDK keeps its temporary direct buffer per thread).
 */
class CacheDirTest {
    private static final int SIZE = 16 << 20;

    @Test
    void readingAndWritingABigFileLeavesNoDirectBufferOfItsSize(@TempDir Path dir) throws Exception {
        byte[] data = new byte[SIZE];
        new Random(7).nextBytes(data);
        Path file = dir.resolve("big.bin");
        CacheDir.writeAtomically(file, data);
        assertThat(Files.size(file)).isEqualTo(SIZE);
        // the JDK's behaviour this guards against, in a thread of its own (its buffer dies with it)
        assumeTrue(directGrowthWhileThreadAlive(() -> Files.readAllBytes(file)) >= SIZE,
                "this JDK keeps no per-thread direct buffer for a channel read; nothing to guard against");
        AtomicReference<byte[]> read = new AtomicReference<>();
        long growth = directGrowthWhileThreadAlive(() -> {
            read.set(CacheDir.readAll(file));
            CacheDir.writeAtomically(dir.resolve("copy.bin"), read.get());
            return read.get();
        });
        assertThat(read.get()).isEqualTo(data);
        assertThat(Files.readAllBytes(dir.resolve("copy.bin"))).isEqualTo(data);
        assertThat(growth).as("direct memory kept by the reading thread").isLessThan(SIZE / 4);
    }

    private interface IoCall {
        byte[] run() throws IOException;
    }

    /** Direct-buffer bytes in use while a fresh thread that ran {@code call} is still alive, less those before. */
    private static long directGrowthWhileThreadAlive(IoCall call) throws InterruptedException {
        BufferPoolMXBean direct = ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class).stream()
                .filter(b -> b.getName().equals("direct")).findFirst().orElseThrow();
        CountDownLatch done = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicLong before = new AtomicLong();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                before.set(direct.getMemoryUsed());
                call.run();
            } catch (Throwable e) {
                failure.set(e);
            } finally {
                done.countDown();
            }
            try {
                release.await();
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
        });
        t.start();
        done.await();
        long growth = direct.getMemoryUsed() - before.get();
        release.countDown();
        t.join();
        assertThat(failure.get()).isNull();
        return growth;
    }
}
