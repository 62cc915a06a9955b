package dev.flyer.core.safetensors;

import java.io.IOException;

/** A safetensors file that is malformed; the message names the file, the tensor and what is wrong. */
public final class SafetensorsException extends IOException {
    private static final long serialVersionUID = 1L;

    public SafetensorsException(String message) {
        super(message);
    }

    public SafetensorsException(String message, Throwable cause) {
        super(message, cause);
    }
}
