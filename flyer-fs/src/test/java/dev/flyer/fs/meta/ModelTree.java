package dev.flyer.fs.meta;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** The obviously-correct model of the namespace: a sorted map from path to "is a directory". */
final class ModelTree {
    private ModelTree() {}

    static String parent(String p) {
        int i = p.lastIndexOf('/');
        return i == 0 ? "/" : p.substring(0, i);
    }

    private static FsException.Code checkParent(TreeMap<String, Boolean> t, String p) {
        String par = parent(p);
        if (par.equals("/")) {
            return null;
        }
        // the first missing or non-directory ancestor decides
        String[] parts = par.substring(1).split("/");
        String cur = "";
        for (String s : parts) {
            cur = cur + "/" + s;
            Boolean d = t.get(cur);
            if (d == null) {
                return FsException.Code.NOT_FOUND;
            }
            if (!d) {
                return FsException.Code.NOT_DIRECTORY;
            }
        }
        return null;
    }

    private static boolean hasChildren(TreeMap<String, Boolean> t, String p) {
        String k = t.higherKey(p + "/");
        return k != null && k.startsWith(p + "/");
    }

    /** Applies op (0 create, 1 mkdir, 2 unlink, 3 rmdir, 4 rename p to q); returns the expected error or null. */
    static FsException.Code apply(TreeMap<String, Boolean> t, int op, String p, String q) {
        FsException.Code e = checkParent(t, p);
        if (e != null) {
            return e;
        }
        Boolean cur = t.get(p);
        switch (op) {
            case 0, 1 -> {
                if (cur != null) {
                    return FsException.Code.EXISTS;
                }
                t.put(p, op == 1);
                return null;
            }
            case 2 -> {
                if (cur == null) {
                    return FsException.Code.NOT_FOUND;
                }
                if (cur) {
                    return FsException.Code.IS_DIRECTORY;
                }
                t.remove(p);
                return null;
            }
            case 3 -> {
                if (cur == null) {
                    return FsException.Code.NOT_FOUND;
                }
                if (!cur) {
                    return FsException.Code.NOT_DIRECTORY;
                }
                if (hasChildren(t, p)) {
                    return FsException.Code.NOT_EMPTY;
                }
                t.remove(p);
                return null;
            }
            default -> {
                return rename(t, p, q, cur);
            }
        }
    }

    private static FsException.Code rename(TreeMap<String, Boolean> t, String p, String q, Boolean cur) {
        if (cur == null) {
            return FsException.Code.NOT_FOUND;
        }
        FsException.Code e = checkParent(t, q);
        if (e != null) {
            return e;
        }
        if (p.equals(q)) {
            return null;
        }
        if (cur && (q + "/").startsWith(p + "/")) {
            return FsException.Code.INVALID_ARGUMENT;
        }
        Boolean target = t.get(q);
        if (target != null) {
            if (target != cur) {
                return cur ? FsException.Code.NOT_DIRECTORY : FsException.Code.IS_DIRECTORY;
            }
            if (target && hasChildren(t, q)) {
                return FsException.Code.NOT_EMPTY;
            }
            t.remove(q);
        }
        List<Map.Entry<String, Boolean>> moved = new ArrayList<>();
        for (Map.Entry<String, Boolean> en : t.entrySet()) {
            if (en.getKey().equals(p) || en.getKey().startsWith(p + "/")) {
                moved.add(Map.entry(en.getKey(), en.getValue()));
            }
        }
        for (Map.Entry<String, Boolean> en : moved) {
            t.remove(en.getKey());
        }
        for (Map.Entry<String, Boolean> en : moved) {
            t.put(q + en.getKey().substring(p.length()), en.getValue());
        }
        return null;
    }
}
