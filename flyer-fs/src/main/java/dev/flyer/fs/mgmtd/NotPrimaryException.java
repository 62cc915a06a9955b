package dev.flyer.fs.mgmtd;

/** This cluster manager is a standby; {@link #primary()} is the address of the primary, if known. */
public final class NotPrimaryException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private static final String PRIMARY_IS = "not the primary cluster manager; primary is ";
    private static final String UNKNOWN = "unknown";
    private final String primary;

    public NotPrimaryException(String primary) {
        super(PRIMARY_IS + (primary == null ? UNKNOWN : primary));
        this.primary = primary;
    }

    /** The primary's address named in a (remote) message of this exception, or null when unknown or absent. */
    public static String primaryIn(String message) {
        int at = message.indexOf(PRIMARY_IS);
        if (at < 0) {
            return null;
        }
        String hint = message.substring(at + PRIMARY_IS.length()).trim();
        return hint.isEmpty() || hint.equals(UNKNOWN) ? null : hint;
    }

    public String primary() {
        return primary;
    }
}
