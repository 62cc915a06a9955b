package dev.flyer.ep;

import dev.flyer.core.tensor.DType;
import dev.flyer.core.tensor.Tensor;
import dev.flyer.dist.ProcessGroup;
import java.lang.foreign.Arena;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;

/** A whole EP job in this process (ranks are threads over real shared-memory or TCP links), plus test data helpers. */
final class EpJob implements AutoCloseable {
    final List<ProcessGroup> groups;
    final List<EpBuffer> buffers = new ArrayList<>();

    EpJob(int ranks, ProcessGroup.Options options, EpConfig config) throws Exception {
        groups = ProcessGroup.inProcess(ranks, options);
        buffers.addAll(onAll(r -> new EpBuffer(groups.get(r), config)));
    }

    static EpJob shm(int ranks, EpConfig config) throws Exception {
        return new EpJob(ranks, ProcessGroup.Options.defaults().withTransport(ProcessGroup.Transport.SHM)
                .withTimeout(Duration.ofSeconds(30)), config);
    }

    /** Nodes of {@code perNode} ranks: shared memory inside, TCP across. */
    static EpJob nodes(int ranks, int perNode, boolean twoHop) throws Exception {
        return new EpJob(ranks, ProcessGroup.Options.defaults().withTimeout(Duration.ofSeconds(30)).byNode(perNode),
                EpConfig.defaults().withRanksPerNode(perNode).withTwoHop(twoHop).withCommThreads(2)
                        .withLowLatencyBytes(1L << 30));
    }

    /** Runs {@code body(rank)} on every rank at once; returns the results by rank, rethrowing the first failure. */
    <T> List<T> onAll(IntFunction<T> body) throws Exception {
        int n = groups.size();
        try (ExecutorService pool = Executors.newFixedThreadPool(n)) {
            List<Future<T>> fs = new ArrayList<>();
            for (int r = 0; r < n; r++) {
                int rank = r;
                fs.add(pool.submit(() -> body.apply(rank)));
            }
            List<T> out = new ArrayList<>();
            for (Future<T> f : fs) {
                try {
                    out.add(f.get(120, TimeUnit.SECONDS));
                } catch (ExecutionException e) {
                    if (e.getCause() instanceof Error err) {
                        throw err;
                    }
                    throw (Exception) e.getCause();
                }
            }
            return out;
        }
    }

    @Override
    public void close() {
        buffers.forEach(EpBuffer::close);
        // rank 0 hosts the store and waits for the others to leave: close it last
        for (int r = groups.size() - 1; r >= 0; r--) {
            groups.get(r).close();
        }
    }

    /** Random routing: distinct experts per token, {@code holes} entries set to -1. */
    static Routing routing(long seed, int tokens, int topk, int experts, int holes) {
        Random rnd = new Random(seed);
        Routing r = Routing.random(rnd, tokens, topk, experts);
        for (int i = 0; i < holes && tokens > 0; i++) {
            r.topkIdx()[rnd.nextInt(tokens) * topk + rnd.nextInt(topk)] = -1;
        }
        return r;
    }

    static Tensor bf16(Arena arena, int rows, int cols, Fill fill) {
        Tensor t = Tensor.allocate(arena, DType.BF16, rows, cols);
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                t.setFloat(fill.at(r, c), r, c);
            }
        }
        return t;
    }

    /** A value generator. */
    interface Fill {
        float at(int row, int col);
    }

    /** DeepEP's {@code calc_diff}: 1 - 2·Σ(x+1)(y+1) / Σ((x+1)² + (y+1)²). */
    static double calcDiff(float[] x, float[] y) {
        double xy = 0;
        double sq = 0;
        for (int i = 0; i < x.length; i++) {
            double a = x[i] + 1.0;
            double b = y[i] + 1.0;
            xy += a * b;
            sq += a * a + b * b;
        }
        return 1 - 2 * xy / sq;
    }

    static float[] floats(Tensor t, int rows) {
        int cols = (int) t.size(t.rank() - 1);
        float[] out = new float[rows * cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                out[r * cols + c] = t.getFloat(r, c);
            }
        }
        return out;
    }
}
