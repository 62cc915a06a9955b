package dev.flyer.serve;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The serving engine: continuous batching over one model and one paged KV cache.
 *
 * <p>Contract: {@link #submit} queues a request and returns at once; its {@link Listener} hears
 * every token as it is sampled and then exactly one finish. Every step, waiting requests join
 * (while blocks and the running limit allow), prompts are prefilled in chunks of at most
 * {@code prefillChunk} tokens per step (so long prompts do not stall decoding), and every running
 * sequence that finished its prompt decodes one token; all of it in one batched forward call.
 * When the cache runs out, the most recently admitted request is preempted: its blocks are freed,
 * and it later resumes by recomputing its prompt plus what it had generated (same tokens under
 * greedy sampling). Requests finish on EOS, their token budget, or the model's maximum length.
 * {@link #close()} stops the engine thread and finishes pending requests with reason "aborted".
 *
 * <p>Implementation notes: one engine thread owns the model and the cache (neither is
 * thread-safe); submitters only touch the lock-guarded queue. Follows the scheduling of vLLM-style
 * continuous batching that DeepSeek's inference system describes. Prefix caching: on admission a
 * request adopts the cached blocks its context starts with and prefills only the rest; every
 * block a sequence fills is published for later requests ({@link KvCache}).
 */
public final class Engine implements AutoCloseable {
    /** Engine sizing. */
    public record Options(int cacheTokens, int maxRunning, int prefillChunk, dev.flyer.mla.KvCacheFormat cacheFormat) {
        /** FP32 cache rows. */
        public Options(int cacheTokens, int maxRunning, int prefillChunk) {
            this(cacheTokens, maxRunning, prefillChunk, dev.flyer.mla.KvCacheFormat.F32);
        }

        public static Options defaults() {
            return new Options(16384, 32, 256);
        }
    }

    /** What a request hears. Called on the engine thread: keep it short. */
    public interface Listener {
        void onToken(int token);

        void onFinish(String reason);
    }

    /** One request's state. */
    public static final class Request {
        final int[] prompt;
        final int maxTokens;
        final Sampler sampler;
        final Listener listener;
        final List<Integer> generated = new ArrayList<>();
        final CompletableFuture<String> done = new CompletableFuture<>();
        volatile String cancelled;
        KvCache.Sequence seq;
        int fed;

        Request(int[] prompt, int maxTokens, Sampler sampler, Listener listener) {
            this.prompt = prompt;
            this.maxTokens = maxTokens;
            this.sampler = sampler;
            this.listener = listener;
        }

        /** Asks the engine to finish this request at its next step with {@code reason} (e.g. a stop string matched). */
        public void cancel(String reason) {
            cancelled = reason;
        }

        /** Completes with the finish reason. */
        public CompletableFuture<String> done() {
            return done;
        }

        /** Tokens to feed: the prompt, then whatever was generated before a preemption. */
        int[] context() {
            int[] all = new int[prompt.length + generated.size()];
            System.arraycopy(prompt, 0, all, 0, prompt.length);
            for (int i = 0; i < generated.size(); i++) {
                all[prompt.length + i] = generated.get(i);
            }
            return all;
        }
    }

    private final DeepSeekModel model;
    private final KvCache cache;
    private final Options options;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition work = lock.newCondition();
    private final Deque<Request> waiting = new ArrayDeque<>();
    private final List<Request> running = new ArrayList<>();
    private final Thread thread;
    private volatile boolean closed;
    private final AtomicLong promptTokens = new AtomicLong();
    private final AtomicLong generatedTokens = new AtomicLong();
    private final AtomicLong preemptions = new AtomicLong();
    private final AtomicLong prefixHitTokens = new AtomicLong();
    private final AtomicLong admittedTokens = new AtomicLong();
    private volatile int runningCount;
    private volatile int waitingCount;

    public Engine(DeepSeekModel model, Options options) {
        this.model = model;
        this.options = options;
        this.cache = model.newCache(options.cacheTokens(), options.cacheFormat());
        this.thread = Thread.ofPlatform().name("flyer-engine").daemon().start(this::loop);
    }

    /** Queues a generation; checks the prompt now so bad input fails the caller, not the engine. */
    public Request submit(int[] prompt, int maxTokens, Sampler sampler, Listener listener) {
        ModelConfig c = model.config();
        if (prompt.length == 0) {
            throw new IllegalArgumentException("prompt must have at least one token");
        }
        if (maxTokens < 1) {
            throw new IllegalArgumentException("max_tokens must be >= 1, got " + maxTokens);
        }
        if (prompt.length >= c.maxPositions()) {
            throw new IllegalArgumentException("prompt of " + prompt.length + " tokens does not fit the context of "
                    + c.maxPositions());
        }
        if (prompt.length + 1 > options.cacheTokens()) {
            throw new IllegalArgumentException("prompt of " + prompt.length + " tokens exceeds the KV cache of "
                    + options.cacheTokens() + " tokens");
        }
        for (int t : prompt) {
            if (t < 0 || t >= c.vocabSize()) {
                throw new IllegalArgumentException("token " + t + " is outside the vocabulary of " + c.vocabSize());
            }
        }
        Request r = new Request(prompt.clone(), maxTokens, sampler, listener);
        lock.lock();
        try {
            if (closed) {
                throw new IllegalStateException("engine is closed");
            }
            waiting.addLast(r);
            waitingCount = waiting.size();
            work.signal();
        } finally {
            lock.unlock();
        }
        return r;
    }

    public int running() {
        return runningCount;
    }

    public int waiting() {
        return waitingCount;
    }

    public int kvBlocksInUse() {
        return cache.totalBlocks() - cache.freeBlocks();
    }

    public int kvBlocksTotal() {
        return cache.totalBlocks();
    }

    public long promptTokens() {
        return promptTokens.get();
    }

    public long generatedTokens() {
        return generatedTokens.get();
    }

    public long preemptions() {
        return preemptions.get();
    }

    /** Share of admitted prompt tokens whose KV came from the prefix cache. */
    public double prefixHitRatio() {
        long admitted = admittedTokens.get();
        return admitted == 0 ? 0 : (double) prefixHitTokens.get() / admitted;
    }

    /** Prompt tokens served from the prefix cache. */
    public long prefixHitTokens() {
        return prefixHitTokens.get();
    }

    private void loop() {
        while (true) {
            lock.lock();
            try {
                while (!closed && waiting.isEmpty() && running.isEmpty()) {
                    work.awaitUninterruptibly();
                }
                if (closed) {
                    break;
                }
                admit();
            } finally {
                lock.unlock();
            }
            step();
        }
        abortAll();
    }

    /** Moves waiting requests into the batch while the running limit and free blocks allow. */
    private void admit() {
        int committed = 0;
        for (Request r : running) {
            int remaining = r.context().length - r.fed;
            committed += r.seq.blocksNeeded(remaining > 0 ? Math.min(remaining, options.prefillChunk()) : 1);
        }
        while (!waiting.isEmpty() && running.size() < options.maxRunning()) {
            Request r = waiting.peekFirst();
            int firstChunk = Math.min(r.context().length, options.prefillChunk());
            int need = (firstChunk + KvCache.BLOCK - 1) / KvCache.BLOCK;
            if (committed + need > cache.freeBlocks() && !running.isEmpty()) {
                break;
            }
            committed += need;
            waiting.pollFirst();
            r.seq = cache.newSequence();
            int[] context = r.context();
            r.fed = r.seq.adoptPrefix(context);
            prefixHitTokens.addAndGet(r.fed);
            admittedTokens.addAndGet(context.length);
            running.add(r);
        }
        waitingCount = waiting.size();
        runningCount = running.size();
    }

    private void step() {
        for (Request r : new ArrayList<>(running)) {
            if (r.cancelled != null) {
                finish(r, r.cancelled);
            }
        }
        List<KvCache.Sequence> seqs = new ArrayList<>();
        List<int[]> feeds = new ArrayList<>();
        List<Request> members = new ArrayList<>();
        int budget = options.prefillChunk();
        for (Request r : running) {
            int[] context = r.context();
            if (r.fed < context.length) {
                int n = Math.min(context.length - r.fed, Math.max(1, budget));
                budget -= n;
                feeds.add(java.util.Arrays.copyOfRange(context, r.fed, r.fed + n));
            } else {
                feeds.add(new int[] {r.generated.get(r.generated.size() - 1)});
            }
            seqs.add(r.seq);
            members.add(r);
        }
        if (members.isEmpty()) {
            return;
        }
        float[][] logits;
        try {
            logits = model.forward(cache, seqs, feeds);
        } catch (IllegalStateException full) {
            preemptLatest();
            return;
        } catch (RuntimeException e) {
            for (Request r : members) {
                finish(r, "error: " + e.getMessage());
            }
            return;
        }
        for (int i = 0; i < members.size(); i++) {
            Request r = members.get(i);
            r.fed += feeds.get(i).length;
            if (r.seq.length() / KvCache.BLOCK > (r.seq.length() - feeds.get(i).length) / KvCache.BLOCK) {
                r.seq.publishFullBlocks(r.context());
            }
            if (r.fed < r.prompt.length + r.generated.size()) {
                continue;
            }
            int token = r.sampler.sample(logits[i]);
            r.generated.add(token);
            generatedTokens.incrementAndGet();
            r.listener.onToken(token);
            ModelConfig c = model.config();
            if (token == c.eosTokenId()) {
                finish(r, "stop");
            } else if (r.generated.size() >= r.maxTokens) {
                finish(r, "length");
            } else if (r.seq.length() + 1 > c.maxPositions() || r.seq.length() + 1 > options.cacheTokens()) {
                finish(r, "length");
            }
        }
    }

    /** Frees the most recently admitted request's blocks and puts it first in line to recompute. */
    private void preemptLatest() {
        if (running.size() == 1) {
            finish(running.get(0), "error: the KV cache cannot hold this request");
            return;
        }
        Request victim = running.remove(running.size() - 1);
        victim.seq.release();
        victim.seq = null;
        victim.fed = 0;
        preemptions.incrementAndGet();
        lock.lock();
        try {
            waiting.addFirst(victim);
            waitingCount = waiting.size();
            runningCount = running.size();
        } finally {
            lock.unlock();
        }
    }

    private void finish(Request r, String reason) {
        running.remove(r);
        runningCount = running.size();
        if (r.seq != null) {
            r.seq.release();
            r.seq = null;
        }
        promptTokens.addAndGet(r.prompt.length);
        r.listener.onFinish(reason);
        r.done.complete(reason);
    }

    private void abortAll() {
        List<Request> all = new ArrayList<>(running);
        lock.lock();
        try {
            all.addAll(waiting);
            waiting.clear();
        } finally {
            lock.unlock();
        }
        for (Request r : all) {
            finish(r, "aborted");
        }
    }

    @Override
    public void close() {
        lock.lock();
        try {
            closed = true;
            work.signalAll();
        } finally {
            lock.unlock();
        }
        try {
            thread.join(30_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        cache.close();
    }
}
