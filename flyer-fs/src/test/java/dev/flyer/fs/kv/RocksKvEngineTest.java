package dev.flyer.fs.kv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

class RocksKvEngineTest extends KvEngineContract {
    @TempDir
    Path tmp;

    private Path dir;

    @Override
    protected KvEngine open(long windowNs) {
        try {
            dir = Files.createTempDirectory(tmp, "rocks");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new RocksKvEngine(dir, false, windowNs);
    }

    @Test
    void dataAndVersionSurviveReopen() {
        put("a", "1");
        put("b", "2");
        long version = kv.committedVersion();
        kv.close();
        kv = new RocksKvEngine(dir);
        assertThat(kv.committedVersion()).isEqualTo(version);
        assertThat(read("a")).isEqualTo("1");
        put("c", "3");
        assertThat(kv.committedVersion()).isEqualTo(version + 1);
    }

    @Test
    void useAfterCloseIsAnExceptionNotACrash() {
        put("a", "1");
        ReadOnlyTransaction open = kv.readOnly();
        kv.close();
        assertThatThrownBy(() -> open.get(bytes("a"))).isInstanceOf(KvException.class).hasMessageContaining("closed");
        open.close(); // releasing a view of a closed store is a no-op
        assertThatThrownBy(kv::readWrite).isInstanceOf(KvException.class).hasMessageContaining("closed");
        kv.close(); // closing twice too
    }

    /** A server shutting down closes its store while its RPC threads still run transactions (a SIGSEGV before). */
    @Test
    @Timeout(60)
    void closingWhileTransactionsRunFailsThemCleanly() throws Exception {
        put("a", "1");
        AtomicLong done = new AtomicLong();
        List<Throwable> unexpected = java.util.Collections.synchronizedList(new ArrayList<>());
        CountDownLatch running = new CountDownLatch(4);
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            int id = t;
            threads.add(Thread.ofPlatform().start(() -> {
                running.countDown();
                for (int i = 0; ; i++) {
                    try (ReadOnlyTransaction ro = kv.readOnly(); Transaction tx = kv.readWrite()) {
                        ro.getRange(KeySelector.inclusive(bytes("")), KeySelector.inclusive(bytes("z")), 10);
                        tx.get(bytes("a"));
                        tx.set(bytes("k" + id), bytes(Integer.toString(i)));
                        tx.commit();
                        done.incrementAndGet();
                    } catch (KvException e) {
                        if (!String.valueOf(e.getMessage()).contains("closed")) {
                            unexpected.add(e);
                        }
                        return;
                    } catch (RuntimeException e) {
                        unexpected.add(e);
                        return;
                    }
                }
            }));
        }
        running.await();
        while (done.get() < 200) {
            Thread.sleep(1);
        }
        kv.close();
        for (Thread t : threads) {
            assertThat(t.join(java.time.Duration.ofSeconds(30))).isTrue();
        }
        assertThat(unexpected).isEmpty();
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
