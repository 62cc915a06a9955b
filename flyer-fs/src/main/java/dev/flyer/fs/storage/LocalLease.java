package dev.flyer.fs.storage;

import dev.flyer.fs.rpc.SharedBuffers;

/**
 * What a storage node gives a client on its host for reading one committed chunk itself
 * ({@link LocalReads}): the pack file {@code path} and byte {@code offset} where committed
 * {@code version} lies, with its length and block CRC32Cs,
 * how the node reads its files (direct I/O, alignment), and where on the node's
 * {@link VersionBoard} the client checks that the version is still the newest: {@code epoch},
 * the cell at byte {@code cellOffset} and the {@code stamp} it showed before the metadata was read.
 */
record LocalLease(SharedBuffers.Ref board, long epoch, long cellOffset, long stamp, String path, long offset, long version,
        int length, int[] crcs, boolean direct, int alignment) {}
