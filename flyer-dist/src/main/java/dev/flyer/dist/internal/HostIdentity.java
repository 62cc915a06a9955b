package dev.flyer.dist.internal;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What makes two processes "on the same host" for shared memory: the host name, the kernel's boot
 * id and the network namespace. Hosts simulated with network namespaces therefore talk TCP, as
 * real separate hosts would.
 */
public final class HostIdentity {
    private HostIdentity() {}

    public static String current() {
        return hostName() + "|" + read(Path.of("/proc/sys/kernel/random/boot_id")) + "|" + netNamespace();
    }

    private static String hostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "unknown-host";
        }
    }

    private static String read(Path p) {
        try {
            return Files.readString(p).strip();
        } catch (IOException e) {
            return "";
        }
    }

    private static String netNamespace() {
        try {
            return Files.readSymbolicLink(Path.of("/proc/self/ns/net")).toString();
        } catch (IOException | UnsupportedOperationException e) {
            return "";
        }
    }
}
