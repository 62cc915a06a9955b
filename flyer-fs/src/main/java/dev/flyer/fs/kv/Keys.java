package dev.flyer.fs.kv;

import java.util.Arrays;
import java.util.Comparator;

/** Byte-string keys: unsigned lexicographic order, the key just after a key, a prefix's end. */
public final class Keys {
    /** Unsigned lexicographic order, the order of every engine. */
    public static final Comparator<byte[]> ORDER = Arrays::compareUnsigned;

    private Keys() {}

    public static int compare(byte[] a, byte[] b) {
        return Arrays.compareUnsigned(a, b);
    }

    /** The smallest key greater than {@code key}: {@code key + 0x00}. */
    public static byte[] after(byte[] key) {
        return Arrays.copyOf(key, key.length + 1);
    }

    /** The smallest key greater than every key starting with {@code prefix} (FoundationDB's strinc). */
    public static byte[] prefixEnd(byte[] prefix) {
        int n = prefix.length;
        while (n > 0 && prefix[n - 1] == (byte) 0xff) {
            n--;
        }
        if (n == 0) {
            throw new IllegalArgumentException("prefix end: a prefix of only 0xff bytes has no end key");
        }
        byte[] end = Arrays.copyOf(prefix, n);
        end[n - 1]++;
        return end;
    }

    public static boolean startsWith(byte[] key, byte[] prefix) {
        return key.length >= prefix.length && Arrays.equals(key, 0, prefix.length, prefix, 0, prefix.length);
    }

    /** Rejects keys a user may not write: empty ones and the reserved 0xff system range. */
    public static void checkWritable(byte[] key) {
        if (key.length == 0 || key[0] == (byte) 0xff) {
            throw new IllegalArgumentException("keys must be non-empty and not start with 0xff (reserved)");
        }
    }

    /** Concatenates byte strings. */
    public static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        byte[] out = new byte[n];
        int at = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }
}
