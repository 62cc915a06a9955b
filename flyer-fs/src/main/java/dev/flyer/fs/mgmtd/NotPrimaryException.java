package dev.flyer.fs.mgmtd;

/** This cluster manager is a standby; {@link #primary()} is the address of the primary, if known. */
public final class NotPrimaryException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final String primary;

    public NotPrimaryException(String primary) {
        super("not the primary cluster manager; primary is " + (primary == null ? "unknown" : primary));
        this.primary = primary;
    }

    public String primary() {
        return primary;
    }
}
