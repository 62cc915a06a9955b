package dev.flyer.fs.meta;

/**
 * Where a file's chunks live (3FS's Layout with a ChainRange, src/fbs/meta/Schema.cc): the chunk
 * size, and {@code stripe} consecutive chains of the chain table starting at {@code chainBase},
 * shuffled by {@code seed}. Chunk i goes to {@code chains()[i % stripe]}.
 *
 * <p>The shuffle is Flyer's own, documented and frozen by golden tests (3FS uses std::shuffle with
 * mt19937, whose output is library-specific): Fisher-Yates from the last position down, where
 * position i swaps with {@code j = next() mod (i + 1)} and {@code next()} is SplitMix64 seeded
 * with {@code seed}. Chain ids are 1-based: the chain at table position p has id p + 1.
 */
public record Layout(int chunkSize, int chainBase, int stripe, long seed, int tableSize) {
    public static final int MIN_CHUNK = 64 << 10;
    public static final int MAX_CHUNK = 64 << 20;

    public Layout {
        if (Integer.bitCount(chunkSize) != 1 || chunkSize < MIN_CHUNK || chunkSize > MAX_CHUNK) {
            throw new FsException(FsException.Code.INVALID_ARGUMENT, "chunk size must be a power of two in [64 KiB, 64 MiB], got " + chunkSize);
        }
        if (tableSize < 1 || stripe < 1 || stripe > tableSize) {
            throw new FsException(FsException.Code.INVALID_ARGUMENT, "stripe " + stripe + " must be in [1, chain table size " + tableSize + "]");
        }
    }

    /** The file's chain ids, in stripe order. */
    public int[] chains() {
        int[] c = new int[stripe];
        for (int i = 0; i < stripe; i++) {
            c[i] = Math.floorMod(chainBase + i, tableSize) + 1;
        }
        long state = seed;
        for (int i = stripe - 1; i > 0; i--) {
            state += 0x9E3779B97F4A7C15L;
            long z = state;
            z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
            z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
            z ^= z >>> 31;
            int j = (int) Long.remainderUnsigned(z, i + 1);
            int t = c[i];
            c[i] = c[j];
            c[j] = t;
        }
        return c;
    }

    /** The chain holding chunk {@code index}. */
    public int chainOf(long index) {
        return chains()[(int) (index % stripe)];
    }
}
