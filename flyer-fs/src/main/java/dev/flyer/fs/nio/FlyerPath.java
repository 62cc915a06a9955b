package dev.flyer.fs.nio;

import java.net.URI;
import java.nio.file.FileSystem;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.ProviderMismatchException;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** A path in a {@link FlyerFileSystem}: slash-separated names, absolute when it starts with '/'. Immutable. */
public final class FlyerPath implements Path {
    private final FlyerFileSystem fs;
    private final boolean absolute;
    private final List<String> names;

    FlyerPath(FlyerFileSystem fs, String path) {
        this(fs, path.startsWith("/"), Arrays.stream(path.split("/")).filter(s -> !s.isEmpty()).toList());
    }

    private FlyerPath(FlyerFileSystem fs, boolean absolute, List<String> names) {
        this.fs = fs;
        this.absolute = absolute;
        this.names = List.copyOf(names);
    }

    /** The absolute path string the cluster understands. */
    String remote() {
        return toAbsolutePath().toString();
    }

    @Override
    public FileSystem getFileSystem() {
        return fs;
    }

    @Override
    public boolean isAbsolute() {
        return absolute;
    }

    @Override
    public Path getRoot() {
        return absolute ? new FlyerPath(fs, true, List.of()) : null;
    }

    @Override
    public Path getFileName() {
        return names.isEmpty() ? null : new FlyerPath(fs, false, List.of(names.getLast()));
    }

    @Override
    public Path getParent() {
        if (names.isEmpty() || (names.size() == 1 && !absolute)) {
            return null;
        }
        return new FlyerPath(fs, absolute, names.subList(0, names.size() - 1));
    }

    @Override
    public int getNameCount() {
        return names.size();
    }

    @Override
    public Path getName(int index) {
        return new FlyerPath(fs, false, List.of(names.get(index)));
    }

    @Override
    public Path subpath(int beginIndex, int endIndex) {
        return new FlyerPath(fs, false, names.subList(beginIndex, endIndex));
    }

    @Override
    public boolean startsWith(Path other) {
        FlyerPath o = check(other);
        return o.absolute == absolute && o.names.size() <= names.size() && names.subList(0, o.names.size()).equals(o.names);
    }

    @Override
    public boolean endsWith(Path other) {
        FlyerPath o = check(other);
        if (o.absolute) {
            return equals(o);
        }
        return o.names.size() <= names.size() && names.subList(names.size() - o.names.size(), names.size()).equals(o.names);
    }

    @Override
    public Path normalize() {
        List<String> out = new ArrayList<>();
        for (String n : names) {
            if (n.equals(".")) {
                continue;
            }
            if (n.equals("..") && !out.isEmpty() && !out.getLast().equals("..")) {
                out.removeLast();
            } else if (!(n.equals("..") && absolute)) {
                out.add(n);
            }
        }
        return new FlyerPath(fs, absolute, out);
    }

    @Override
    public Path resolve(Path other) {
        FlyerPath o = check(other);
        if (o.absolute) {
            return o;
        }
        List<String> all = new ArrayList<>(names);
        all.addAll(o.names);
        return new FlyerPath(fs, absolute, all);
    }

    @Override
    public Path relativize(Path other) {
        FlyerPath o = check(other);
        if (o.absolute != absolute) {
            throw new IllegalArgumentException("cannot relativize " + other + " against " + this);
        }
        int common = 0;
        while (common < names.size() && common < o.names.size() && names.get(common).equals(o.names.get(common))) {
            common++;
        }
        List<String> out = new ArrayList<>();
        for (int i = common; i < names.size(); i++) {
            out.add("..");
        }
        out.addAll(o.names.subList(common, o.names.size()));
        return new FlyerPath(fs, false, out);
    }

    @Override
    public URI toUri() {
        return URI.create("flyer://" + fs.authority() + remote());
    }

    @Override
    public Path toAbsolutePath() {
        return absolute ? this : new FlyerPath(fs, true, names);
    }

    @Override
    public Path toRealPath(LinkOption... options) {
        return toAbsolutePath().normalize();
    }

    @Override
    public WatchKey register(WatchService watcher, WatchEvent.Kind<?>[] events, WatchEvent.Modifier... modifiers) {
        throw new UnsupportedOperationException("Flyer fs has no watch service");
    }

    @Override
    public int compareTo(Path other) {
        return toString().compareTo(other.toString());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof FlyerPath p && p.fs == fs && p.absolute == absolute && p.names.equals(names);
    }

    @Override
    public int hashCode() {
        return names.hashCode() * 31 + (absolute ? 1 : 0);
    }

    @Override
    public String toString() {
        return (absolute ? "/" : "") + String.join("/", names);
    }

    private FlyerPath check(Path other) {
        if (!(other instanceof FlyerPath p) || p.fs != fs) {
            throw new ProviderMismatchException("not a path of " + fs.authority() + ": " + other);
        }
        return p;
    }
}
