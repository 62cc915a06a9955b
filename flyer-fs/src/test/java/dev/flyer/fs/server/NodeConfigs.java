package dev.flyer.fs.server;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/** Test helper: a member's config file, to restart it. */
final class NodeConfigs {
    private NodeConfigs() {}

    static NodeConfig read(ProcessCluster.Member m) {
        try {
            return NodeConfig.read(Path.of(m.config()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
