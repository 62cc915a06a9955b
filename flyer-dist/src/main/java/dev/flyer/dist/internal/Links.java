package dev.flyer.dist.internal;

import dev.flyer.dist.IoVector;
import java.io.IOException;

/**
 * One direction of a point-to-point connection. Messages between an ordered pair of ranks arrive
 * in the order they were sent; each carries a tag and a length that the receiver checks against
 * what it posted.
 */
public final class Links {
    /** Header bytes in front of every message: tag (i32) and length (i64). */
    public static final int HEADER_BYTES = 12;

    private Links() {}

    /** Sends whole messages to one peer; called by one thread at a time. */
    public interface Out extends AutoCloseable {
        /** Sends the pieces of {@code payload} as one message. */
        void send(IoVector payload, int tag) throws IOException;

        @Override
        void close();
    }

    /** Receives whole messages from one peer into posted buffers; called by one thread at a time. */
    public interface In extends AutoCloseable {
        /** Receives the next message into the pieces of {@code dst}, whose total must be the message's length. */
        void recv(IoVector dst, int tag) throws IOException;

        @Override
        void close();
    }

    /** Builds the links of one transport. */
    public interface Factory extends AutoCloseable {
        Out connect(int peer) throws IOException;

        In accept(int peer) throws IOException;

        String name();

        @Override
        void close();
    }

    /** The message the receiver was not ready for. */
    public static IOException mismatch(int peer, int expectedTag, long expectedBytes, int tag, long bytes) {
        return new IOException("message from rank " + peer + " has tag " + tag + " and " + bytes
                + " bytes, but the posted receive expects tag " + expectedTag + " and " + expectedBytes + " bytes");
    }
}
