package dev.flyer.dist;

import dev.flyer.dist.internal.HostIdentity;
import dev.flyer.dist.internal.Links;
import dev.flyer.dist.internal.PeerWorker;
import dev.flyer.dist.internal.ShmLinks;
import dev.flyer.dist.internal.TcpLinks;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The ranks of a job and the operations between them: control collectives over a
 * {@link TcpStore} (barrier, broadcast, all-gather of small byte arrays) and point-to-point
 * transfers of off-heap buffers over shared memory (ranks on one host) or TCP (across hosts).
 *
 * <p>Contract: {@link #init(DistEnv, Options)} joins a job described by the environment (rank 0
 * hosts the store at {@code MASTER_ADDR:MASTER_PORT}); {@link #inProcess(int, Options)} makes a
 * whole job of ranks in this process (threads), through exactly the same code. Sends and
 * receives between an ordered pair of ranks match in posting order; posted operations progress on
 * per-peer communication threads, so {@link #batchIsendIrecv} posts everything and the caller
 * waits after, which is how DualPipe avoids deadlocks. Every wait has the group's timeout and
 * fails with a {@link DistException} naming this rank, the peer and the operation. Buffers are
 * read and written by the communication threads, so they must come from a shared, global or
 * automatic arena (a confined arena's segments fail with {@code WrongThreadException}), and must
 * stay untouched until their {@link Work} completed.
 *
 * <p>Implementation notes: ranks publish a host identity (host name, boot id and network
 * namespace) in the store; {@link Transport#AUTO} uses shared memory between ranks with equal
 * identities and TCP otherwise. Store keys are namespaced by collective and a per-group sequence
 * number, so successive collectives never collide.
 */
public final class ProcessGroup implements AutoCloseable {
    /**
     * Which transport carries point-to-point data: {@code AUTO} shared memory between ranks of one
     * host and TCP otherwise; {@code BY_NODE} shared memory between ranks of one node
     * ({@code rank / ranksPerNode}) and TCP across nodes, even on one host (how benches and tests
     * make several "hosts" on one machine); {@code TCP} or {@code SHM} for every pair.
     */
    public enum Transport { AUTO, TCP, SHM, BY_NODE }

    /**
     * Group settings.
     *
     * @param timeout the longest any wait may take
     * @param transport the transport choice
     * @param shmRingBytes bytes per shared-memory ring (a power of two)
     * @param shmDir where shared-memory files live
     * @param ranksPerNode the node size {@link Transport#BY_NODE} uses (ignored otherwise)
     */
    public record Options(Duration timeout, Transport transport, long shmRingBytes, Path shmDir, int ranksPerNode) {
        public Options {
            if (transport == Transport.BY_NODE && ranksPerNode < 1) {
                throw new IllegalArgumentException("transport BY_NODE needs ranksPerNode >= 1, got " + ranksPerNode);
            }
        }

        public static Options defaults() {
            String seconds = System.getenv("FLYER_DIST_TIMEOUT_S");
            String transport = System.getenv("FLYER_TRANSPORT");
            return new Options(Duration.ofSeconds(seconds == null ? 120 : Long.parseLong(seconds)),
                    transport == null ? Transport.AUTO : Transport.valueOf(transport.toUpperCase(java.util.Locale.ROOT)),
                    4L << 20, Path.of("/dev/shm"), 1);
        }

        public Options withTimeout(Duration t) {
            return new Options(t, transport, shmRingBytes, shmDir, ranksPerNode);
        }

        public Options withTransport(Transport t) {
            return new Options(timeout, t, shmRingBytes, shmDir, ranksPerNode);
        }

        /** Shared memory within groups of {@code ranks} consecutive ranks, TCP between them. */
        public Options byNode(int ranks) {
            return new Options(timeout, Transport.BY_NODE, shmRingBytes, shmDir, ranks);
        }
    }

    private final int rank;
    private final int size;
    private final TcpStore store;
    private final Options options;
    private final TcpLinks tcp;
    private final ShmLinks shm;
    private final boolean[] sameHost;
    private final PeerWorker[] senders;
    private final PeerWorker[] receivers;
    private long sequence;

    private ProcessGroup(int rank, int size, TcpStore store, Options options, String advertiseHost) throws IOException {
        this.rank = rank;
        this.size = size;
        this.store = store;
        this.options = options;
        if (rank == 0) {
            store.set("job", HexFormat.of().formatHex(java.nio.ByteBuffer.allocate(8)
                    .putLong(new java.security.SecureRandom().nextLong()).array()));
        }
        String job = store.getString("job", options.timeout());
        store.set("host/" + rank, HostIdentity.current());
        this.tcp = new TcpLinks(rank, store, advertiseHost, options.timeout());
        this.shm = new ShmLinks(rank, job, store, options.timeout(), options.shmRingBytes(), options.shmDir());
        this.sameHost = new boolean[size];
        String mine = HostIdentity.current();
        for (int peer = 0; peer < size; peer++) {
            sameHost[peer] = mine.equals(store.getString("host/" + peer, options.timeout()));
        }
        this.senders = new PeerWorker[size];
        this.receivers = new PeerWorker[size];
    }

    /** Joins the job the environment describes. */
    public static ProcessGroup init(DistEnv env, Options options) throws IOException {
        TcpStore store = env.rank() == 0 ? TcpStore.host("0.0.0.0", env.masterPort())
                : TcpStore.connect(env.masterAddr(), env.masterPort(), options.timeout());
        try {
            String advertise = isLoopback(env.masterAddr()) ? "127.0.0.1"
                    : env.rank() == 0 ? env.masterAddr() : store.localAddress();
            return new ProcessGroup(env.rank(), env.worldSize(), store, options, advertise);
        } catch (IOException | RuntimeException e) {
            store.close();
            throw e;
        }
    }

    /** A whole job of {@code world} ranks in this process; index {@code i} is rank {@code i}. */
    public static List<ProcessGroup> inProcess(int world, Options options) throws IOException {
        if (world < 1) {
            throw new IllegalArgumentException("world size must be >= 1, got " + world);
        }
        TcpStore host = TcpStore.host("127.0.0.1", 0);
        List<ProcessGroup> groups = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(world)) {
            List<Future<ProcessGroup>> futures = new ArrayList<>();
            for (int r = 0; r < world; r++) {
                int rank = r;
                futures.add(pool.submit(() -> new ProcessGroup(rank, world,
                        rank == 0 ? host : TcpStore.connect("127.0.0.1", host.port(), options.timeout()), options,
                        "127.0.0.1")));
            }
            for (Future<ProcessGroup> f : futures) {
                groups.add(f.get());
            }
        } catch (java.util.concurrent.ExecutionException e) {
            groups.forEach(ProcessGroup::close);
            host.close();
            throw new IOException("could not create the in-process group: " + e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        return groups;
    }

    public int rank() {
        return rank;
    }

    public int size() {
        return size;
    }

    /** The settings this group was made with. */
    public Options options() {
        return options;
    }

    public TcpStore store() {
        return store;
    }

    /** The transport that carries data to {@code peer}: {@code "shm"} or {@code "tcp"}. */
    public String transportTo(int peer) {
        return links(checkPeer(peer)).name();
    }

    /** Waits until every rank reached the same barrier. */
    public void barrier() {
        String key = "barrier/" + (++sequence);
        long arrived = store.add(key, 1);
        if (arrived == size) {
            store.set(key + "/done", "");
        }
        try {
            store.get(key + "/done", options.timeout());
        } catch (DistException e) {
            throw new DistException("rank " + rank + ": barrier " + sequence + " timed out after "
                    + options.timeout().toMillis() + " ms with " + store.add(key, 0) + " of " + size + " ranks arrived", e);
        }
    }

    /** Every rank's {@code mine}, by rank. */
    public byte[][] allGather(byte[] mine) {
        String key = "allgather/" + (++sequence) + "/";
        store.set(key + rank, mine);
        byte[][] all = new byte[size][];
        for (int r = 0; r < size; r++) {
            try {
                all[r] = store.get(key + r, options.timeout());
            } catch (DistException e) {
                throw new DistException("rank " + rank + ": all-gather " + sequence + ": rank " + r
                        + " never contributed within " + options.timeout().toMillis() + " ms", e);
            }
        }
        return all;
    }

    /** {@code data} from {@code root} on every rank ({@code data} is ignored elsewhere). */
    public byte[] broadcast(byte[] data, int root) {
        checkPeer(root);
        String key = "broadcast/" + (++sequence);
        if (rank == root) {
            store.set(key, data);
            return data;
        }
        try {
            return store.get(key, options.timeout());
        } catch (DistException e) {
            throw new DistException("rank " + rank + ": broadcast " + sequence + " from rank " + root
                    + " did not arrive within " + options.timeout().toMillis() + " ms", e);
        }
    }

    public String broadcast(String data, int root) {
        return new String(broadcast(data == null ? new byte[0] : data.getBytes(StandardCharsets.UTF_8), root),
                StandardCharsets.UTF_8);
    }

    /** Posts a send of all of {@code buffer} to {@code peer}. */
    public Work isend(MemorySegment buffer, int peer) {
        return isend(buffer, peer, 0);
    }

    public Work isend(MemorySegment buffer, int peer, int tag) {
        return isend(IoVector.of(buffer), peer, tag);
    }

    /** Posts a send of the pieces of {@code pieces}, as one message, to {@code peer}. */
    public Work isend(IoVector pieces, int peer, int tag) {
        return worker(true, checkOther(peer)).post(pieces, tag);
    }

    /** Posts a receive into all of {@code buffer} from {@code peer}. */
    public Work irecv(MemorySegment buffer, int peer) {
        return irecv(buffer, peer, 0);
    }

    public Work irecv(MemorySegment buffer, int peer, int tag) {
        return irecv(IoVector.of(buffer), peer, tag);
    }

    /** Posts a receive of one message scattered into the pieces of {@code pieces}. */
    public Work irecv(IoVector pieces, int peer, int tag) {
        return worker(false, checkOther(peer)).post(pieces, tag);
    }

    public void send(MemorySegment buffer, int peer) {
        isend(buffer, peer).await();
    }

    public void recv(MemorySegment buffer, int peer) {
        irecv(buffer, peer).await();
    }

    /** Posts every op, then returns their handles (wait on all of them). */
    public List<Work> batchIsendIrecv(List<P2POp> ops) {
        List<Work> works = new ArrayList<>(ops.size());
        for (P2POp op : ops) {
            works.add(op.send() ? isend(op.buffer(), op.peer(), op.tag()) : irecv(op.buffer(), op.peer(), op.tag()));
        }
        return works;
    }

    private synchronized PeerWorker worker(boolean sending, int peer) {
        PeerWorker[] workers = sending ? senders : receivers;
        if (workers[peer] == null) {
            workers[peer] = new PeerWorker(sending, rank, peer, links(peer), options.timeout());
        }
        return workers[peer];
    }

    private Links.Factory links(int peer) {
        return switch (options.transport()) {
            case TCP -> tcp;
            case SHM -> shm;
            case AUTO -> sameHost[peer] ? shm : tcp;
            case BY_NODE -> rank / options.ranksPerNode() == peer / options.ranksPerNode() ? shm : tcp;
        };
    }

    private int checkPeer(int peer) {
        if (peer < 0 || peer >= size) {
            throw new IllegalArgumentException("peer " + peer + " is outside [0, " + size + ")");
        }
        return peer;
    }

    private int checkOther(int peer) {
        if (checkPeer(peer) == rank) {
            throw new IllegalArgumentException("rank " + rank + " cannot send to or receive from itself");
        }
        return peer;
    }

    private static boolean isLoopback(String host) {
        return host.equals("localhost") || host.startsWith("127.") || host.equals("::1");
    }

    /** Stops the communication threads and closes links; rank 0 keeps the store up until the others left. */
    @Override
    public void close() {
        for (PeerWorker[] workers : new PeerWorker[][] {senders, receivers}) {
            for (PeerWorker w : workers) {
                if (w != null) {
                    w.close();
                }
            }
        }
        tcp.close();
        shm.close();
        try {
            store.add("closed", 1);
            if (rank == 0) {
                long deadline = System.nanoTime() + Math.min(options.timeout().toNanos(), 10_000_000_000L);
                while (store.add("closed", 0) < size && System.nanoTime() < deadline) {
                    Thread.sleep(10);
                }
            }
        } catch (DistException | InterruptedException ignored) {
            // the store is gone or we were interrupted: close anyway
        }
        store.close();
    }
}
