package dev.flyer.fs.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.flyer.fs.chain.Chain;
import dev.flyer.fs.chain.ChainTarget;
import dev.flyer.fs.chain.RoutingInfo;
import dev.flyer.fs.client.FsClient;
import dev.flyer.fs.kv.MemKvEngine;
import dev.flyer.fs.mgmtd.MgmtdConfig;
import dev.flyer.fs.rpc.RpcClient;
import dev.flyer.fs.rpc.RpcException;
import dev.flyer.fs.rpc.SharedBuffers;
import dev.flyer.fs.server.LocalCluster;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Chunk payloads through shared memory between processes on one host, and the socket fallback:
 * a peer that cannot map the caller's region (here: a region outside the directory the server
 * looks in, as on another host) answers once and gets sockets from then on; a payload whose
 * bytes changed under the request is refused and nothing is stored.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SharedMemoryTransferTest {
    static final long TIMEOUT = TimeUnit.SECONDS.toNanos(20);

    @TempDir
    Path dir;

    private record Head(String address, Chain chain, ChainTarget target) {}

    private static Head head(FsClient client) {
        RoutingInfo r = client.routing();
        Chain chain = r.chains().values().iterator().next();
        ChainTarget t = chain.head().orElseThrow();
        return new Head(r.nodeAddresses().get(t.nodeId()), chain, t);
    }

    /** Where servers look for callers' regions ({@code /dev/shm} unless {@code -Dflyer.fs.shmDir}). */
    private static Path sharedDir() {
        return Path.of(System.getProperty("flyer.fs.shmDir", "/dev/shm"));
    }

    private static byte[] random(long seed, int n) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static WriteRequest write(Head h, ChunkId chunk, byte[] data, long seq) {
        return new WriteRequest(h.target().targetId(), h.chain().chainId(), h.chain().version(), chunk, 0, data, false, 0,
                77, seq);
    }

    @Test
    void writesAndReadsGoThroughSharedMemoryOrFallBackToTheSocket() throws Exception {
        try (LocalCluster c = new LocalCluster(dir.resolve("c"), new MemKvEngine(), 1, 1, 1, MgmtdConfig.fast(1000))) {
            FsClient client = c.client(TIMEOUT);
            byte[] file = random(1, 3 << 20);
            client.writeFile("/f", file);
            assertThat(client.readFile("/f")).isEqualTo(file);

            Head h = head(client);
            SharedBuffers mine = SharedBuffers.create(sharedDir(), 1, 1 << 20);
            RemoteStorage viaShm = (RemoteStorage) StorageService.remote(h.address(), TIMEOUT, mine);
            byte[] a = random(2, 200_000);
            ChunkId chunkA = new ChunkId(1000, 0);
            viaShm.write(write(h, chunkA, a, 1));
            SharedBuffers.Slot only = mine.acquire(1);
            assertThat(only.segment().asSlice(0, a.length).toArray(ValueLayout.JAVA_BYTE)).as("the payload went through the slot")
                    .isEqualTo(a);
            only.release();
            byte[] back = new byte[a.length];
            assertThat(viaShm.readInto(h.target().targetId(), chunkA, 0, a.length, false, back, 0)).isEqualTo(a.length);
            assertThat(back).isEqualTo(a);
            assertThat(viaShm.sharedMemory()).as("the server maps this process's region").isTrue();

            SharedBuffers elsewhere = SharedBuffers.create(dir, 4, 1 << 20); // a directory the server does not look in
            RemoteStorage fallback = (RemoteStorage) StorageService.remote(h.address(), TIMEOUT, elsewhere);
            byte[] b = random(3, 300_000);
            ChunkId chunkB = new ChunkId(1001, 0);
            fallback.write(write(h, chunkB, b, 2));
            assertThat(fallback.sharedMemory()).as("after SHM_UNAVAILABLE the peer gets sockets").isFalse();
            byte[] backB = new byte[b.length];
            fallback.readInto(h.target().targetId(), chunkB, 0, b.length, false, backB, 0);
            assertThat(backB).isEqualTo(b);
            assertThat(elsewhere.acquire(1)).as("the failed attempt gave its slot back").isNotNull();
        }
    }

    @Test
    void aPayloadThatChangedUnderTheRequestIsRefused() throws Exception {
        try (LocalCluster c = new LocalCluster(dir.resolve("c"), new MemKvEngine(), 1, 1, 1, MgmtdConfig.fast(1000))) {
            Head h = head(c.client(TIMEOUT));
            SharedBuffers.Slot slot = SharedBuffers.create(sharedDir(), 1, 1 << 20).acquire(100_000);
            try {
                byte[] data = random(4, 100_000);
                MemorySegment.copy(data, 0, slot.segment(), ValueLayout.JAVA_BYTE, 0, data.length);
                int wrongCrc = ChunkEngine.crc(data, 0, data.length) ^ 1;
                ChunkId chunk = new ChunkId(2000, 0);
                assertThatThrownBy(() -> RpcClient.to(h.address()).call(StorageService.WRITE_SHM, w -> {
                    w.putLong(h.target().targetId()).putInt(h.chain().chainId()).putLong(h.chain().version())
                            .putLong(chunk.inode()).putLong(chunk.index()).putInt(0);
                    StorageService.putShmRef(w, slot.ref());
                    w.putInt(data.length).putInt(wrongCrc);
                    w.putBool(false).putLong(0).putLong(78).putLong(1).putLong(0);
                }, r -> null, TIMEOUT)).isInstanceOfSatisfying(RpcException.class, e -> {
                    assertThat(e.domain()).isEqualTo("storage");
                    assertThat(e.code()).isEqualTo("CHECKSUM_MISMATCH");
                });
                assertThat(c.storage(1).node().targets().values().iterator().next().meta(chunk)).as("nothing stored").isNull();
            } finally {
                slot.release();
            }
        }
    }

    @Test
    void aForwardNamesTheSourceSlotOnlyForTheSameBytes() throws Exception {
        SharedBuffers.Slot slot = SharedBuffers.create(sharedDir(), 1, 1 << 20).acquire(10);
        byte[] data = random(5, 100_000);
        WriteRequest.Source source = new WriteRequest.Source(slot.ref(), ChunkEngine.crc(data, 0, data.length));
        WriteRequest q = new WriteRequest(1, 1, 1, new ChunkId(1, 0), 0, data, false, 0, 7, 1).withSource(source);
        assertThat(q.forward(2, 1, 1, data, false, 9).source()).as("the same bytes: the same slot").isEqualTo(source);
        assertThat(q.forward(2, 1, 1, data.clone(), true, 9).source()).as("other bytes (a full chunk): their own copy")
                .isNull();
        slot.release();
    }
}
