package dev.flyer.fs.rpc;

/** Turns a handler's exception into (domain, code, message) for the wire; services register theirs. */
@FunctionalInterface
public interface RpcErrorMapper {
    /** Returns {domain, code} for an exception this mapper knows, or null. */
    String[] map(Throwable error);
}
