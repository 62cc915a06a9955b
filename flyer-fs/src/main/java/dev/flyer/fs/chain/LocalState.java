package dev.flyer.fs.chain;

/** A storage target's state as its own service reports it in heartbeats (3FS's LocalTargetState). */
public enum LocalState {
    /** serving, or finished recovery */
    UPTODATE,
    /** alive, but syncing or waiting */
    ONLINE,
    /** service down (no heartbeat) or medium failure */
    OFFLINE
}
