package dev.flyer.fs.rpc;

/**
 * A remote call failed. {@code domain} says whose error it is ("rpc" for the transport itself:
 * TIMEOUT, UNREACHABLE, BAD_FRAME; otherwise the service's, e.g. "storage" or "fs"), {@code code}
 * the service's error code, so stubs can rethrow the service's own exception type.
 */
public final class RpcException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final String domain;
    private final String code;

    public RpcException(String domain, String code, String message) {
        super(domain + "/" + code + ": " + message);
        this.domain = domain;
        this.code = code;
    }

    public String domain() {
        return domain;
    }

    public String code() {
        return code;
    }

    /** The remote message without the domain/code prefix. */
    public String detail() {
        String m = getMessage();
        return m.substring(m.indexOf(": ") + 2);
    }
}
