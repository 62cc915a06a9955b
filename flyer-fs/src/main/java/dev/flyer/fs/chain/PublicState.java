package dev.flyer.fs.chain;

/**
 * A storage target's state as published in the chain table (3FS docs/design_notes.md, "Failure
 * detection"). Only SERVING targets serve reads; SERVING and SYNCING targets receive writes.
 */
public enum PublicState {
    /** alive and serving client requests */
    SERVING,
    /** down, and it was the last serving target: the chain waits for it */
    LASTSRV,
    /** alive, data recovery in progress: receives writes, serves no reads */
    SYNCING,
    /** alive, data recovery not started yet */
    WAITING,
    /** down or its medium failed */
    OFFLINE;

    public boolean readable() {
        return this == SERVING;
    }

    public boolean writable() {
        return this == SERVING || this == SYNCING;
    }
}
