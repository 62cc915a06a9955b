package dev.flyer.dist.internal;

import dev.flyer.dist.DistException;
import dev.flyer.dist.IoVector;
import dev.flyer.dist.Work;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * One direction of communication with one peer, progressed by its own thread: posted sends (or
 * receives) run in order, so compute never waits on communication it has not asked to wait for.
 *
 * <p>Implementation notes: the link is opened by the worker on its first operation (so ranks
 * connect lazily, only to the peers they talk to). A failed link fails the operation that hit it
 * and every later one with the same cause.
 */
public final class PeerWorker implements AutoCloseable {
    /** Bounded polls before a thread parks: a park and unpark costs tens of microseconds. */
    private static final int BRIEF_WAIT = 400;

    private final boolean sending;
    private final int peer;
    private final Links.Factory factory;
    private final Duration timeout;
    private final String self;
    private final LinkedBlockingQueue<Task> queue = new LinkedBlockingQueue<>();
    private final Thread thread;
    private volatile Exception broken;
    private AutoCloseable link;

    public PeerWorker(boolean sending, int rank, int peer, Links.Factory factory, Duration timeout) {
        this.sending = sending;
        this.peer = peer;
        this.factory = factory;
        this.timeout = timeout;
        this.self = "rank " + rank;
        this.thread = Thread.ofPlatform().daemon()
                .name("flyer-" + (sending ? "send" : "recv") + "-" + rank + (sending ? "-to-" : "-from-") + peer)
                .start(this::loop);
    }

    /** Posts a send (or receive) of {@code buffer} with {@code tag}. */
    public Work post(IoVector buffer, int tag) {
        Task t = new Task(buffer, tag, sending, peer, self);
        queue.add(t);
        return t;
    }

    private void loop() {
        try {
            while (true) {
                Task t = next();
                if (t.buffer == null) {
                    return;
                }
                run(t);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The next posted op: polls briefly (back-to-back ops are the common case), then blocks. */
    private Task next() throws InterruptedException {
        for (int i = 0; i < BRIEF_WAIT; i++) {
            Task t = queue.poll();
            if (t != null) {
                return t;
            }
            if (i < BRIEF_WAIT / 2) {
                Thread.onSpinWait();
            } else {
                Thread.yield();
            }
        }
        return queue.take();
    }

    private void run(Task t) {
        if (broken != null) {
            t.finish(broken);
            return;
        }
        try {
            if (link == null) {
                link = sending ? factory.connect(peer) : factory.accept(peer);
            }
            if (sending) {
                ((Links.Out) link).send(t.buffer, t.tag);
            } else {
                ((Links.In) link).recv(t.buffer, t.tag);
            }
            t.finish(null);
        } catch (IOException | RuntimeException e) {
            broken = e;
            t.finish(e);
        }
    }

    @Override
    public void close() {
        queue.add(new Task(null, 0, sending, peer, self));
        try {
            thread.join(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (thread.isAlive()) {
            thread.interrupt();
        }
        if (link != null) {
            try {
                link.close();
            } catch (Exception ignored) {
                // closing anyway
            }
        }
    }

    private final class Task implements Work {
        final IoVector buffer;
        final int tag;
        final long bytes;
        final boolean send;
        final int peer;
        final String self;
        final CountDownLatch done = new CountDownLatch(1);
        volatile Exception error;

        Task(IoVector buffer, int tag, boolean send, int peer, String self) {
            this.buffer = buffer;
            this.tag = tag;
            this.bytes = buffer == null ? 0 : buffer.byteSize();
            this.send = send;
            this.peer = peer;
            this.self = self;
        }

        /** Built only on failure: posting stays allocation-light. */
        String description() {
            return (send ? "send of " : "receive of ") + bytes + " bytes " + (send ? "to" : "from") + " rank " + peer
                    + " (tag " + tag + ") on " + self;
        }

        void finish(Exception e) {
            error = e;
            done.countDown();
        }

        @Override
        public void await() {
            for (int i = 0; i < BRIEF_WAIT && done.getCount() > 0; i++) {
                if (i < BRIEF_WAIT / 2) {
                    Thread.onSpinWait();
                } else {
                    Thread.yield();
                }
            }
            try {
                if (!done.await(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                    throw new DistException(description() + " did not complete within " + timeout.toMillis()
                            + " ms (is rank " + peer + " alive and posting the matching operation?)");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new DistException(description() + " interrupted", e);
            }
            if (error != null) {
                throw new DistException(description() + " failed: " + error.getMessage(), error);
            }
        }

        @Override
        public boolean isDone() {
            return done.getCount() == 0;
        }
    }
}
