package dev.flyer.fs.storage;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Native memory for direct I/O buffers that reach the disk as whole requests: anonymous mappings
 * aligned to 2 MiB and advised as transparent huge pages ({@code madvise(MADV_HUGEPAGE)}), so that
 * a 1 MiB buffer is at most two physically contiguous pieces.
 *
 * <p>Implementation notes. Why: a direct read or write hands the block layer one segment per
 * physically contiguous piece of its buffer, and a request carries a bounded number of segments
 * (virtio-blk here: 254). A 1 MiB buffer of scattered 4 KiB pages is 256 pieces, so each 1 MiB
 * read became two requests (1016 + 8 KiB), and on this machine's virtual disk that halves the
 * throughput: 1 MiB O_DIRECT reads ran at 1.2-1.9 GB/s from malloc'd buffers and 3.4-5.6 GB/s
 * from huge pages, in alternating runs of the same probe (requests of 512 against 1024 KiB in
 * {@code /proc/diskstats}). Whether a plain buffer came out contiguous was chance, which made the
 * disk's own rate look like it swung 2-5 GB/s. The mapping is made with {@code mmap}, aligned
 * inside a mapping 2 MiB larger, and unmapped whole when the arena closes. Where any of this is
 * unavailable (not Linux, native access denied, no transparent huge pages) the buffer is ordinary
 * page-aligned memory from the arena: the same bytes, only the requests may be split.
 */
@SuppressWarnings("restricted") // mmap and madvise through FFM are this class's purpose; it falls back where denied
public final class IoMemory {
    private static final long HUGE_PAGE_BYTES = 2L << 20;
    private static final int PROT_READ_WRITE = 0x1 | 0x2;
    private static final int MAP_PRIVATE_ANONYMOUS = 0x02 | 0x20;
    private static final int MADV_HUGEPAGE = 14;
    private static final Native NATIVE = Native.find();

    private IoMemory() {}

    /**
     * {@code bytes} of zeroed memory aligned to 2 MiB where huge pages are available (else to
     * 4 KiB), freed when {@code arena} closes.
     */
    public static MemorySegment allocate(long bytes, Arena arena) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("an I/O buffer of " + bytes + " bytes");
        }
        MemorySegment mapped = NATIVE == null ? null : NATIVE.mapHuge(bytes, arena);
        return mapped != null ? mapped : arena.allocate(bytes, 4096);
    }

    /** The libc calls, or null where they cannot be made. */
    private record Native(MethodHandle mmap, MethodHandle madvise, MethodHandle munmap) {
        static Native find() {
            if (!System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT).contains("linux")) {
                return null;
            }
            try {
                Linker linker = Linker.nativeLinker();
                var libc = linker.defaultLookup();
                ValueLayout size = ValueLayout.JAVA_LONG;
                return new Native(
                        linker.downcallHandle(libc.findOrThrow("mmap"), FunctionDescriptor.of(ValueLayout.ADDRESS,
                                ValueLayout.ADDRESS, size, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, size)),
                        linker.downcallHandle(libc.findOrThrow("madvise"),
                                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, size, ValueLayout.JAVA_INT)),
                        linker.downcallHandle(libc.findOrThrow("munmap"),
                                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, size)));
            } catch (RuntimeException e) { // IllegalCallerException (native access denied), no such symbol
                return null;
            }
        }

        /** A huge-page-advised mapping of {@code bytes}, or null when mmap or madvise refuses. */
        MemorySegment mapHuge(long bytes, Arena arena) {
            long rounded = (bytes + HUGE_PAGE_BYTES - 1) / HUGE_PAGE_BYTES * HUGE_PAGE_BYTES;
            long span = rounded + HUGE_PAGE_BYTES;
            try {
                MemorySegment mapping = (MemorySegment) mmap.invokeExact(MemorySegment.NULL, span, PROT_READ_WRITE,
                        MAP_PRIVATE_ANONYMOUS, -1, 0L);
                if (mapping.address() == -1L) {
                    return null;
                }
                long aligned = (mapping.address() + HUGE_PAGE_BYTES - 1) & -HUGE_PAGE_BYTES;
                MemorySegment region = MemorySegment.ofAddress(aligned).reinterpret(rounded);
                if ((int) madvise.invokeExact(region, rounded, MADV_HUGEPAGE) != 0) {
                    unmap(mapping, span); // no transparent huge pages in this kernel
                    return null;
                }
                return MemorySegment.ofAddress(aligned).reinterpret(bytes, arena, ignored -> unmap(mapping, span));
            } catch (Throwable t) {
                return null;
            }
        }

        private void unmap(MemorySegment mapping, long span) {
            try {
                int ignored = (int) munmap.invokeExact(mapping, span);
            } catch (Throwable t) {
                // the process keeps the address space; nothing else refers to it
            }
        }
    }
}
