package dev.flyer.profile;

import java.io.IOException;

/** A trace file that is not Chrome-trace JSON or lacks a field the analysis needs; the message says where. */
public final class TraceFormatException extends IOException {
    private static final long serialVersionUID = 1L;

    public TraceFormatException(String message) {
        super(message);
    }

    public TraceFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
