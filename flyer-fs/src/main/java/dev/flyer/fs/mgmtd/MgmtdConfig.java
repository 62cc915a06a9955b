package dev.flyer.fs.mgmtd;

import java.util.concurrent.TimeUnit;

/**
 * Cluster-manager timing. 3FS's defaults are a 10 s heartbeat and a 60 s failure timeout; a service
 * that cannot reach the manager for half the failure timeout fences itself. The primary's lease
 * in the KV store lasts {@code leaseNs}; a standby takes over when it expires.
 */
public record MgmtdConfig(long heartbeatIntervalNs, long failureTimeoutNs, long leaseNs) {
    public MgmtdConfig {
        if (heartbeatIntervalNs <= 0 || failureTimeoutNs < 2 * heartbeatIntervalNs || leaseNs <= 0) {
            throw new IllegalArgumentException("mgmtd timing: need heartbeat > 0, failure timeout >= 2 heartbeats, lease > 0; got "
                    + heartbeatIntervalNs + " / " + failureTimeoutNs + " / " + leaseNs + " ns");
        }
    }

    /** 3FS's production timing. */
    public static MgmtdConfig production() {
        return new MgmtdConfig(TimeUnit.SECONDS.toNanos(10), TimeUnit.SECONDS.toNanos(60), TimeUnit.SECONDS.toNanos(60));
    }

    /** Short timing for a local cluster and tests: failure noticed in {@code failureMs}. */
    public static MgmtdConfig fast(long failureMs) {
        return new MgmtdConfig(TimeUnit.MILLISECONDS.toNanos(Math.max(20, failureMs / 5)),
                TimeUnit.MILLISECONDS.toNanos(failureMs), TimeUnit.MILLISECONDS.toNanos(failureMs));
    }

    public long tickNs() {
        return Math.max(TimeUnit.MILLISECONDS.toNanos(10), heartbeatIntervalNs / 2);
    }
}
