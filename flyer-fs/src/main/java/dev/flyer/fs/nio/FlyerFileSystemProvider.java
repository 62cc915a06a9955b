package dev.flyer.fs.nio;

import dev.flyer.fs.client.FsClient;
import dev.flyer.fs.client.FsFile;
import dev.flyer.fs.meta.DirEntry;
import dev.flyer.fs.meta.FsException;
import dev.flyer.fs.meta.Inode;
import dev.flyer.fs.meta.InodeType;
import java.io.IOException;
import java.net.URI;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.AccessMode;
import java.nio.file.CopyOption;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileStore;
import java.nio.file.FileSystem;
import java.nio.file.FileSystemAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.FileSystemNotFoundException;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.ProviderMismatchException;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.FileAttributeView;
import java.nio.file.attribute.FileTime;
import java.nio.file.spi.FileSystemProvider;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * {@code java.nio.file} access to Flyer fs: {@code Path.of(URI.create("flyer://HOST:PORT/dir/file"))}
 * where HOST:PORT is a cluster manager (environment key {@code "mgmtd"} may list all of them,
 * {@code "deadlineMs"} bounds retries). A file system per authority is created on first use, so
 * {@code Files.write}, {@code Files.newByteChannel}, {@code Files.walk} and friends work on Flyer
 * paths. Errors map to the JDK's exceptions (NoSuchFileException, FileAlreadyExistsException,
 * NotDirectoryException, DirectoryNotEmptyException; others FileSystemException with the errno).
 */
public final class FlyerFileSystemProvider extends FileSystemProvider {
    private final Map<String, FlyerFileSystem> systems = new ConcurrentHashMap<>();

    @Override
    public String getScheme() {
        return "flyer";
    }

    @Override
    public FileSystem newFileSystem(URI uri, Map<String, ?> env) {
        String authority = authority(uri);
        if (systems.containsKey(authority)) {
            throw new FileSystemAlreadyExistsException(authority);
        }
        return create(authority, env);
    }

    private synchronized FlyerFileSystem create(String authority, Map<String, ?> env) {
        FlyerFileSystem existing = systems.get(authority);
        if (existing != null) {
            return existing;
        }
        String mgmtd = env.containsKey("mgmtd") ? String.valueOf(env.get("mgmtd")) : authority;
        long deadlineMs = env.containsKey("deadlineMs") ? Long.parseLong(String.valueOf(env.get("deadlineMs"))) : 30_000;
        FlyerFileSystem fs = new FlyerFileSystem(this, authority, FsClient.connect(mgmtd, TimeUnit.MILLISECONDS.toNanos(deadlineMs)));
        systems.put(authority, fs);
        return fs;
    }

    void forget(String authority) {
        systems.remove(authority);
    }

    @Override
    public FileSystem getFileSystem(URI uri) {
        FlyerFileSystem fs = systems.get(authority(uri));
        if (fs == null) {
            throw new FileSystemNotFoundException(uri.toString());
        }
        return fs;
    }

    @Override
    public Path getPath(URI uri) {
        FlyerFileSystem fs = systems.get(authority(uri));
        if (fs == null) {
            fs = create(authority(uri), Map.of());
        }
        return fs.getPath(uri.getPath() == null || uri.getPath().isEmpty() ? "/" : uri.getPath());
    }

    private String authority(URI uri) {
        if (!"flyer".equalsIgnoreCase(uri.getScheme()) || uri.getAuthority() == null) {
            throw new IllegalArgumentException("expected flyer://HOST:PORT/path, got " + uri);
        }
        return uri.getAuthority();
    }

    private static FlyerPath flyer(Path p) {
        if (!(p instanceof FlyerPath f)) {
            throw new ProviderMismatchException("not a flyer:// path: " + p);
        }
        return f;
    }

    private static FsClient client(Path p) {
        return ((FlyerFileSystem) flyer(p).getFileSystem()).client();
    }

    /** The JDK exception for a file-system error. */
    static IOException toIo(FsException e, String path) {
        String p = path == null ? "" : path;
        return switch (e.code()) {
            case NOT_FOUND -> new NoSuchFileException(path, null, e.getMessage());
            case EXISTS -> new FileAlreadyExistsException(path, null, e.getMessage());
            case NOT_DIRECTORY -> new NotDirectoryException(p);
            case NOT_EMPTY -> new DirectoryNotEmptyException(p);
            default -> new FileSystemException(path, null, e.getMessage());
        };
    }

    private interface Op<T> {
        T run();
    }

    private static <T> T io(Path path, Op<T> op) throws IOException {
        try {
            return op.run();
        } catch (FsException e) {
            throw toIo(e, path.toString());
        }
    }

    @Override
    public SeekableByteChannel newByteChannel(Path path, Set<? extends OpenOption> options, FileAttribute<?>... attrs) throws IOException {
        FsClient c = client(path);
        String remote = flyer(path).remote();
        boolean write = options.contains(StandardOpenOption.WRITE) || options.contains(StandardOpenOption.APPEND);
        boolean append = options.contains(StandardOpenOption.APPEND);
        return io(path, () -> {
            FsFile f;
            if (write && options.contains(StandardOpenOption.CREATE_NEW)) {
                f = c.create(remote, 0);
            } else if (write && options.contains(StandardOpenOption.CREATE) && !c.exists(remote)) {
                try {
                    f = c.create(remote, 0);
                } catch (FsException e) {
                    if (e.code() != FsException.Code.EXISTS) {
                        throw e;
                    }
                    f = c.open(remote, true);
                }
            } else {
                if (write && options.contains(StandardOpenOption.TRUNCATE_EXISTING)) {
                    c.truncate(remote, 0);
                }
                f = c.open(remote, write);
            }
            return new FlyerChannel(f, write, append);
        });
    }

    @Override
    public DirectoryStream<Path> newDirectoryStream(Path dir, DirectoryStream.Filter<? super Path> filter) throws IOException {
        FlyerPath d = flyer(dir);
        List<DirEntry> entries = io(dir, () -> {
            Inode i = client(dir).stat(d.remote());
            if (!i.isDirectory()) {
                throw new FsException(FsException.Code.NOT_DIRECTORY, d.remote());
            }
            return client(dir).list(d.remote());
        });
        List<Path> paths = new ArrayList<>();
        for (DirEntry e : entries) {
            Path p = d.resolve(e.name());
            if (filter.accept(p)) {
                paths.add(p);
            }
        }
        return new DirectoryStream<>() {
            @Override
            public Iterator<Path> iterator() {
                return paths.iterator();
            }

            @Override
            public void close() {}
        };
    }

    @Override
    public void createDirectory(Path dir, FileAttribute<?>... attrs) throws IOException {
        io(dir, () -> client(dir).mkdir(flyer(dir).remote()));
    }

    @Override
    public void delete(Path path) throws IOException {
        FsClient c = client(path);
        String remote = flyer(path).remote();
        io(path, () -> {
            if (c.stat(remote).isDirectory()) {
                c.rmdir(remote);
            } else {
                c.unlink(remote);
            }
            return null;
        });
    }

    @Override
    public void copy(Path source, Path target, CopyOption... options) throws IOException {
        boolean replace = List.of(options).contains(StandardCopyOption.REPLACE_EXISTING);
        FsClient c = client(source);
        String from = flyer(source).remote();
        String to = flyer(target).remote();
        io(source, () -> {
            if (c.exists(to) && !replace) {
                throw new FsException(FsException.Code.EXISTS, to);
            }
            if (c.stat(from).isDirectory()) {
                return c.mkdir(to);
            }
            c.writeFile(to, c.readFile(from));
            return null;
        });
    }

    @Override
    public void move(Path source, Path target, CopyOption... options) throws IOException {
        boolean replace = List.of(options).contains(StandardCopyOption.REPLACE_EXISTING);
        FsClient c = client(source);
        String to = flyer(target).remote();
        io(source, () -> {
            if (!replace && c.exists(to)) {
                throw new FsException(FsException.Code.EXISTS, to);
            }
            c.rename(flyer(source).remote(), to);
            return null;
        });
    }

    @Override
    public boolean isSameFile(Path a, Path b) throws IOException {
        if (a.equals(b)) {
            return true;
        }
        if (!(a instanceof FlyerPath) || !(b instanceof FlyerPath) || a.getFileSystem() != b.getFileSystem()) {
            return false;
        }
        return io(a, () -> client(a).stat(flyer(a).remote()).id() == client(b).stat(flyer(b).remote()).id());
    }

    @Override
    public boolean isHidden(Path path) {
        Path name = path.getFileName();
        return name != null && name.toString().startsWith(".");
    }

    @Override
    public FileStore getFileStore(Path path) {
        throw new UnsupportedOperationException("Flyer fs does not expose file stores; use flyer fs df");
    }

    @Override
    public void checkAccess(Path path, AccessMode... modes) throws IOException {
        io(path, () -> client(path).stat(flyer(path).remote()));
    }

    @Override
    public <V extends FileAttributeView> V getFileAttributeView(Path path, Class<V> type, LinkOption... options) {
        if (type != BasicFileAttributeView.class) {
            return null;
        }
        BasicFileAttributeView view = new BasicFileAttributeView() {
            @Override
            public String name() {
                return "basic";
            }

            @Override
            public BasicFileAttributes readAttributes() throws IOException {
                return FlyerFileSystemProvider.this.readAttributes(path, BasicFileAttributes.class);
            }

            @Override
            public void setTimes(FileTime modified, FileTime access, FileTime create) {
                throw new UnsupportedOperationException("Flyer fs does not set times");
            }
        };
        return type.cast(view);
    }

    @Override
    @SuppressWarnings("unchecked")
    public <A extends BasicFileAttributes> A readAttributes(Path path, Class<A> type, LinkOption... options) throws IOException {
        if (type != BasicFileAttributes.class) {
            throw new UnsupportedOperationException("only BasicFileAttributes are supported, not " + type.getName());
        }
        Inode i = io(path, () -> client(path).stat(flyer(path).remote()));
        return (A) new Attributes(i);
    }

    @Override
    public Map<String, Object> readAttributes(Path path, String attributes, LinkOption... options) throws IOException {
        BasicFileAttributes a = readAttributes(path, BasicFileAttributes.class);
        Map<String, Object> m = new HashMap<>();
        m.put("size", a.size());
        m.put("isDirectory", a.isDirectory());
        m.put("isRegularFile", a.isRegularFile());
        m.put("isSymbolicLink", a.isSymbolicLink());
        m.put("isOther", false);
        m.put("lastModifiedTime", a.lastModifiedTime());
        m.put("lastAccessTime", a.lastAccessTime());
        m.put("creationTime", a.creationTime());
        m.put("fileKey", a.fileKey());
        return m;
    }

    @Override
    public void setAttribute(Path path, String attribute, Object value, LinkOption... options) {
        throw new UnsupportedOperationException("Flyer fs does not set attributes");
    }

    private record Attributes(Inode inode) implements BasicFileAttributes {
        @Override
        public FileTime lastModifiedTime() {
            return FileTime.from(inode.mtimeNs(), TimeUnit.NANOSECONDS);
        }

        @Override
        public FileTime lastAccessTime() {
            return lastModifiedTime();
        }

        @Override
        public FileTime creationTime() {
            return FileTime.from(inode.ctimeNs(), TimeUnit.NANOSECONDS);
        }

        @Override
        public boolean isRegularFile() {
            return inode.type() == InodeType.FILE;
        }

        @Override
        public boolean isDirectory() {
            return inode.isDirectory();
        }

        @Override
        public boolean isSymbolicLink() {
            return inode.type() == InodeType.SYMLINK;
        }

        @Override
        public boolean isOther() {
            return false;
        }

        @Override
        public long size() {
            return inode.length();
        }

        @Override
        public Object fileKey() {
            return inode.id();
        }
    }
}
