package dev.flyer.fs.nio;

import dev.flyer.fs.client.FsClient;
import java.nio.file.FileStore;
import java.nio.file.FileSystem;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.nio.file.WatchService;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.nio.file.spi.FileSystemProvider;
import java.util.List;
import java.util.Set;

/** One Flyer fs cluster as a {@link FileSystem}: {@code flyer://HOST:PORT/...}, where HOST:PORT is a cluster manager. */
public final class FlyerFileSystem extends FileSystem {
    private final FlyerFileSystemProvider provider;
    private final String authority;
    private final FsClient client;
    private volatile boolean open = true;

    FlyerFileSystem(FlyerFileSystemProvider provider, String authority, FsClient client) {
        this.provider = provider;
        this.authority = authority;
        this.client = client;
    }

    String authority() {
        return authority;
    }

    FsClient client() {
        return client;
    }

    @Override
    public FileSystemProvider provider() {
        return provider;
    }

    @Override
    public void close() {
        open = false;
        provider.forget(authority);
        client.close();
    }

    @Override
    public boolean isOpen() {
        return open;
    }

    @Override
    public boolean isReadOnly() {
        return false;
    }

    @Override
    public String getSeparator() {
        return "/";
    }

    @Override
    public Iterable<Path> getRootDirectories() {
        return List.of(getPath("/"));
    }

    @Override
    public Iterable<FileStore> getFileStores() {
        return List.of();
    }

    @Override
    public Set<String> supportedFileAttributeViews() {
        return Set.of("basic");
    }

    @Override
    public Path getPath(String first, String... more) {
        StringBuilder sb = new StringBuilder(first);
        for (String m : more) {
            sb.append('/').append(m);
        }
        return new FlyerPath(this, sb.toString());
    }

    @Override
    public PathMatcher getPathMatcher(String syntaxAndPattern) {
        PathMatcher local = java.nio.file.FileSystems.getDefault().getPathMatcher(syntaxAndPattern);
        return p -> local.matches(java.nio.file.Path.of(p.toString()));
    }

    @Override
    public UserPrincipalLookupService getUserPrincipalLookupService() {
        throw new UnsupportedOperationException("Flyer fs has no user principals");
    }

    @Override
    public WatchService newWatchService() {
        throw new UnsupportedOperationException("Flyer fs has no watch service");
    }
}
