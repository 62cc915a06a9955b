package dev.flyer.bench;

import dev.flyer.fs.client.FsClient;
import dev.flyer.fs.client.FsFile;
import dev.flyer.fs.storage.ChunkEngine;
import dev.flyer.fs.storage.IoMemory;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The data rows of {@code bench fs}, one piece of code for both sides (Flyer fs and the local file
 * system): each thread owns file {@code seq-T} of {@code fileMiB} MiB, written once untimed. The
 * rows: sequential 1 MiB writes, each thread filling new files of {@code fileMiB} MiB one after the
 * other (it deletes its file from two files back, so the disk does not fill up); sequential 1 MiB
 * reads of {@code seq-T}; random 4 KiB and 64 KiB reads over all the {@code seq-T} files. Every row
 * runs untimed until its rate settles (each JVM of the cluster compiles the row's path; see
 * {@link Turns}) and then {@code windowMs} timed.
 */
final class DataRows {
    /** One side's files, by name. */
    interface Side {
        /** Opens {@code name}: created new (it must not exist) when {@code create}, else for reading. */
        Handle open(String name, boolean create) throws Exception;

        void delete(String name) throws Exception;
    }

    /** An open file of one side. */
    interface Handle extends AutoCloseable {
        void write(long position, byte[] data) throws Exception;

        /** Returns when every byte written is where a reader sees it (O_DIRECT writes already are). */
        default void flush() throws Exception {}

        void read(long position, byte[] into, int length) throws Exception;

        @Override
        void close() throws java.io.IOException;
    }

    interface Step {
        long run(long i) throws Exception;

        /**
         * Ends a turn inside it: work the steps left in flight (a Flyer file's writes behind
         * {@code write}) is finished and counted in the turn that started it, not the next side's.
         */
        default void endTurn() throws Exception {}
    }

    interface Worker {
        Step open(int thread, List<AutoCloseable> opened) throws Exception;
    }

    private DataRows() {}

    static Side flyer(FsClient c, String dir) {
        return new Side() {
            @Override
            public Handle open(String name, boolean create) {
                FsFile f = create ? c.create(dir + "/" + name, 0) : c.open(dir + "/" + name, false);
                return new Handle() {
                    @Override
                    public void write(long position, byte[] data) {
                        f.write(position, data, 0, data.length);
                    }

                    @Override
                    public void flush() {
                        f.flush();
                    }

                    @Override
                    public void read(long position, byte[] into, int length) {
                        f.read(position, into, 0, length);
                    }

                    @Override
                    public void close() {
                        f.close();
                    }
                };
            }

            @Override
            public void delete(String name) {
                c.unlink(dir + "/" + name);
            }
        };
    }

    /**
     * Files in {@code dir} on the local file system; with {@code direct} through O_DIRECT and an
     * aligned buffer from {@link IoMemory} (the disk itself, as Flyer's storage reads and writes
     * it, in the same whole requests), else through the page cache.
     */
    static Side local(Path dir, boolean direct) {
        return new Side() {
            @Override
            public Handle open(String name, boolean create) throws java.io.IOException {
                return new LocalHandle(dir.resolve(name), create, direct);
            }

            @Override
            public void delete(String name) throws java.io.IOException {
                java.nio.file.Files.deleteIfExists(dir.resolve(name));
            }
        };
    }

    private static final class LocalHandle implements Handle {
        private final FileChannel ch;
        private final Arena arena = Arena.ofShared();
        private final ByteBuffer aligned;
        private boolean closed;

        LocalHandle(Path file, boolean create, boolean direct) throws java.io.IOException {
            java.util.Set<java.nio.file.OpenOption> opts = new java.util.HashSet<>(create
                    ? List.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE) : List.of(StandardOpenOption.READ));
            if (direct) {
                opts.add(ChunkEngine.directIoOption().orElseThrow(() -> new IllegalStateException("no O_DIRECT in this JDK")));
            }
            ch = FileChannel.open(file, opts);
            aligned = direct ? IoMemory.allocate(1 << 20, arena).asByteBuffer() : null; // as Flyer's storage buffers
        }

        @Override
        public void write(long position, byte[] data) throws java.io.IOException {
            ByteBuffer b = aligned != null ? aligned.clear().put(data).flip() : ByteBuffer.wrap(data);
            while (b.hasRemaining()) {
                ch.write(b, position + b.position());
            }
        }

        @Override
        public void read(long position, byte[] into, int length) throws java.io.IOException {
            ByteBuffer b = aligned != null ? aligned.clear().limit(length) : ByteBuffer.wrap(into, 0, length);
            while (b.hasRemaining() && ch.read(b, position + b.position()) > 0) {
                // keep reading
            }
            if (aligned != null) {
                aligned.get(0, into, 0, length);
            }
        }

        @Override
        public void close() throws java.io.IOException {
            if (!closed) {
                closed = true;
                ch.close();
                arena.close();
            }
        }
    }

    /** The data rows, in report order. */
    enum Row { WRITE, READ, RANDOM_4K, RANDOM_64K }

    /** Writes each thread's {@code seq-T} once (untimed): what the read rows read. */
    static void setup(Side side, FsBench.Options o, byte[] block) {
        int mib = o.fileMiB();
        FsBench.timed(o.threads(), t -> {
            try (Handle h = side.open("seq-" + t, true)) {
                for (int i = 0; i < mib; i++) {
                    h.write((long) i << 20, block);
                }
            }
        });
    }

    /** One row's rate on one side (after {@link #setup}): MB/s for the sequential rows, IOPS for the random ones. */
    static double rate(Row row, Side side, FsBench.Options o, byte[] block) {
        return Turns.measure(List.of(worker(row, side, o, block)), o, () -> 0, new long[1])[0] / unitsPer(row);
    }

    /**
     * One row's rates on several sides (after {@link #setup}), measured in turns ({@link Turns}) so
     * that the shared disk's slow and fast phases fall on every side alike; {@code counter} (a
     * process-wide count, read around each turn) is summed per side into {@code counted}.
     */
    static double[] rates(Row row, List<Side> sides, FsBench.Options o, byte[] block, java.util.function.LongSupplier counter,
            long[] counted) {
        List<Worker> workers = sides.stream().map(side -> worker(row, side, o, block)).toList();
        double[] perSecond = Turns.measure(workers, o, counter, counted);
        for (int s = 0; s < perSecond.length; s++) {
            perSecond[s] /= unitsPer(row);
        }
        return perSecond;
    }

    /** What a step's units are divided by for the row's unit: bytes to MB, operations as they are. */
    private static double unitsPer(Row row) {
        return row == Row.WRITE || row == Row.READ ? 1e6 : 1;
    }

    private static Worker worker(Row row, Side side, FsBench.Options o, byte[] block) {
        return switch (row) {
            case WRITE -> sequentialWrite(side, o, block);
            case READ -> sequentialRead(side, o);
            case RANDOM_4K -> random(side, o, 4096);
            case RANDOM_64K -> random(side, o, 65536);
        };
    }

    private static Worker sequentialWrite(Side side, FsBench.Options o, byte[] block) {
        int mib = o.fileMiB();
        long run = WRITE_RUNS.incrementAndGet(); // a row run again writes files of its own names
        return (t, opened) -> new Step() {
            private Handle file;

            @Override
            public long run(long i) throws Exception {
                long generation = i / mib;
                if (i % mib == 0) {
                    if (file != null) {
                        file.close();
                    }
                    if (generation >= 2) {
                        side.delete("new-" + run + "-" + t + "-" + (generation - 2));
                    }
                    file = keep(opened, side.open("new-" + run + "-" + t + "-" + generation, true));
                }
                file.write((i % mib) << 20, block);
                return block.length;
            }

            @Override
            public void endTurn() throws Exception {
                if (file != null) {
                    file.flush();
                }
            }
        };
    }

    private static final AtomicLong WRITE_RUNS = new AtomicLong();

    private static Worker sequentialRead(Side side, FsBench.Options o) {
        int mib = o.fileMiB();
        return (t, opened) -> {
            Handle h = keep(opened, side.open("seq-" + t, false));
            byte[] buf = new byte[1 << 20];
            return i -> {
                h.read((i % mib) << 20, buf, buf.length);
                return buf.length;
            };
        };
    }

    private static Worker random(Side side, FsBench.Options o, int size) {
        return (t, opened) -> {
            Handle[] files = new Handle[o.threads()];
            for (int f = 0; f < files.length; f++) {
                files[f] = keep(opened, side.open("seq-" + f, false));
            }
            SplittableRandom rnd = new SplittableRandom(t);
            byte[] buf = new byte[size];
            long blocks = ((long) o.fileMiB() << 20) / size;
            return i -> {
                files[rnd.nextInt(files.length)].read(rnd.nextLong(blocks) * size, buf, size);
                return 1;
            };
        };
    }

    private static Handle keep(List<AutoCloseable> opened, Handle h) {
        opened.add(h);
        return h;
    }
}
