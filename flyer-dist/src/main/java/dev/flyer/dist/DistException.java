package dev.flyer.dist;

/**
 * A distributed operation failed: a timeout, a peer that closed or died, mismatched messages.
 * The message names the rank, the peer and the operation.
 */
public final class DistException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public DistException(String message) {
        super(message);
    }

    public DistException(String message, Throwable cause) {
        super(message, cause);
    }
}
