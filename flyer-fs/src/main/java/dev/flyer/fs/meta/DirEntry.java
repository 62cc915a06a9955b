package dev.flyer.fs.meta;

/** One name in a directory: the entry's inode and type (3FS src/meta/store/DirEntry.h). */
public record DirEntry(long parent, String name, long inode, InodeType type) {}
