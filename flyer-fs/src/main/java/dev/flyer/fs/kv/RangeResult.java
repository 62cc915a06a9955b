package dev.flyer.fs.kv;

import java.util.List;

/** A page of a range read: the pairs, ascending by key, and whether more keys lie in the range. */
public record RangeResult(List<KeyValue> kvs, boolean hasMore) {}
