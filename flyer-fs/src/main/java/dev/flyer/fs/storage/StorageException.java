package dev.flyer.fs.storage;

/** A storage operation failed; {@link #code()} says how, so clients and predecessors can react. */
public final class StorageException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** Why a storage request failed. */
    public enum Code {
        /** the replica holds a pending version: retry, or read another replica */
        NOT_COMMITTED,
        /** the request's chain version differs from the target's: refresh routing and retry */
        STALE_CHAIN_VERSION,
        /** the target is not (or no longer) in a state to take this request */
        TARGET_NOT_SERVING,
        /** stored bytes do not match their checksum */
        CHECKSUM_MISMATCH,
        /** the chunk does not exist */
        NO_SUCH_CHUNK,
        /** an update's version does not follow the replica's committed version: send the full chunk */
        NEED_FULL_CHUNK,
        /** the request is malformed (offset, length, chunk size) */
        INVALID_ARGUMENT,
        /** the target's disk is full */
        NO_SPACE,
        /** local I/O failed */
        IO_ERROR,
        /** a forward or a reply timed out */
        TIMEOUT
    }

    private final Code code;

    public StorageException(Code code, String message) {
        super(code + ": " + message);
        this.code = code;
    }

    public Code code() {
        return code;
    }

    public boolean retryable() {
        return code != Code.INVALID_ARGUMENT && code != Code.NO_SUCH_CHUNK && code != Code.NO_SPACE;
    }
}
