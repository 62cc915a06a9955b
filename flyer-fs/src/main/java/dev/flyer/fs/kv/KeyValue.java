package dev.flyer.fs.kv;

/** One key and its value, as returned by range reads. The arrays are owned by the caller. */
public record KeyValue(byte[] key, byte[] value) {}
