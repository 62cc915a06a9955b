package dev.flyer.fs.kv;

/**
 * The transaction lost: a transaction that committed after its read version wrote a key in its
 * read-conflict set, or its read version is older than the engine keeps (FoundationDB's
 * not_committed / transaction_too_old). Nothing was applied; retrying is safe.
 */
public final class KvConflictException extends KvException {
    private static final long serialVersionUID = 1L;

    public KvConflictException(String message) {
        super(message, true);
    }
}
