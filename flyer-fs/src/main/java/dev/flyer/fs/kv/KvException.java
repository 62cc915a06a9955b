package dev.flyer.fs.kv;

/** A key-value store operation failed; {@link #retryable()} says whether running the transaction again may succeed. */
public class KvException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final boolean retryable;

    public KvException(String message, boolean retryable) {
        super(message);
        this.retryable = retryable;
    }

    public KvException(String message, Throwable cause) {
        super(message, cause);
        this.retryable = false;
    }

    public boolean retryable() {
        return retryable;
    }
}
