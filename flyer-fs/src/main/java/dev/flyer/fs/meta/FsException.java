package dev.flyer.fs.meta;

/** A file-system operation failed with a POSIX-like {@link Code}; the message names the path. */
public final class FsException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** Why an operation failed (the errno it maps to). */
    public enum Code {
        NOT_FOUND("ENOENT"),
        EXISTS("EEXIST"),
        NOT_DIRECTORY("ENOTDIR"),
        IS_DIRECTORY("EISDIR"),
        NOT_EMPTY("ENOTEMPTY"),
        INVALID_ARGUMENT("EINVAL"),
        NAME_TOO_LONG("ENAMETOOLONG"),
        NO_SPACE("ENOSPC"),
        UNAVAILABLE("EAGAIN"),
        IO_ERROR("EIO");

        public final String errno;

        Code(String errno) {
            this.errno = errno;
        }
    }

    private final Code code;

    public FsException(Code code, String message) {
        super(code.errno + ": " + message);
        this.code = code;
    }

    public Code code() {
        return code;
    }
}
