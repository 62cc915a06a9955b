package dev.flyer.fs.kv;

/**
 * One end of a range read (3FS's {@code KeySelector}). As a begin, {@code inclusive} means keys
 * {@code >= key}, otherwise {@code > key}; as an end, {@code <= key}, otherwise {@code < key}.
 */
public record KeySelector(byte[] key, boolean inclusive) {
    public KeySelector {
        if (key == null) {
            throw new IllegalArgumentException("key selector: key must not be null");
        }
    }

    /** {@code >= key} as a begin, {@code <= key} as an end. */
    public static KeySelector inclusive(byte[] key) {
        return new KeySelector(key, true);
    }

    /** {@code > key} as a begin, {@code < key} as an end. */
    public static KeySelector exclusive(byte[] key) {
        return new KeySelector(key, false);
    }

    /** The inclusive lower bound this selector denotes when used as a range's begin. */
    public byte[] asBegin() {
        return inclusive ? key : Keys.after(key);
    }

    /** The exclusive upper bound this selector denotes when used as a range's end. */
    public byte[] asEnd() {
        return inclusive ? Keys.after(key) : key;
    }
}
