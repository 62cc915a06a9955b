package dev.flyer.fs.meta;

/** What an inode is. */
public enum InodeType {
    FILE,
    DIRECTORY,
    SYMLINK
}
