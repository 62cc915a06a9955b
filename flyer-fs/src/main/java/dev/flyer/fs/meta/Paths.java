package dev.flyer.fs.meta;

import java.util.ArrayList;
import java.util.List;

/** Absolute slash-separated paths: parsed into names ("." and ".." are refused), joined back. */
public final class Paths {
    private Paths() {}

    public static List<String> parse(String path) {
        if (path == null || !path.startsWith("/")) {
            throw new FsException(FsException.Code.INVALID_ARGUMENT, "paths must be absolute: " + path);
        }
        List<String> parts = new ArrayList<>();
        for (String p : path.split("/")) {
            if (p.isEmpty()) {
                continue;
            }
            if (p.equals(".") || p.equals("..") || p.indexOf('\0') >= 0) {
                throw new FsException(FsException.Code.INVALID_ARGUMENT, "path component '" + p + "' is not allowed in " + path);
            }
            parts.add(p);
        }
        return parts;
    }

    public static String join(List<String> parts) {
        return "/" + String.join("/", parts);
    }
}
