package dev.flyer.fs.kv;

/**
 * The commit's outcome is unknown (FoundationDB's commit_unknown_result): its writes may or may not
 * have been applied. Retrying is safe only for idempotent transactions, which is why the metadata
 * service records each mutating request's result under its request id.
 */
public final class MaybeCommittedException extends KvException {
    private static final long serialVersionUID = 1L;

    public MaybeCommittedException(String message) {
        super(message, true);
    }
}
