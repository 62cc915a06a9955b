package dev.flyer.fs.nio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.flyer.fs.kv.MemKvEngine;
import dev.flyer.fs.mgmtd.MgmtdConfig;
import dev.flyer.fs.server.LocalCluster;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Ordinary java.nio.file code on flyer:// paths. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class FlyerFileSystemTest {
    @TempDir
    Path dir;

    @Test
    void filesApiWorksOnFlyerPaths() throws Exception {
        try (LocalCluster c = new LocalCluster(dir, new MemKvEngine(), 3, 1, 3, MgmtdConfig.fast(1000))) {
            String authority = c.mgmtdAddresses().getFirst();
            Path root = Path.of(URI.create("flyer://" + authority + "/"));
            assertThat(root.getFileSystem().provider().getScheme()).isEqualTo("flyer");
            Path d = root.resolve("data/sub");
            Files.createDirectories(d);
            byte[] big = new byte[5_000_000];
            new Random(9).nextBytes(big);
            Files.write(d.resolve("big.bin"), big);
            Files.writeString(d.resolve("hello.txt"), "hello, flyer");
            assertThat(Files.readAllBytes(d.resolve("big.bin"))).isEqualTo(big);
            assertThat(Files.readString(d.resolve("hello.txt"))).isEqualTo("hello, flyer");
            assertThat(Files.size(d.resolve("big.bin"))).isEqualTo(big.length);
            assertThat(Files.isDirectory(d)).isTrue();
            try (SeekableByteChannel ch = Files.newByteChannel(d.resolve("big.bin"))) {
                ch.position(4_000_000);
                ByteBuffer b = ByteBuffer.allocate(10);
                assertThat(ch.read(b)).isEqualTo(10);
                assertThat(b.array()).isEqualTo(java.util.Arrays.copyOfRange(big, 4_000_000, 4_000_010));
            }
            try (SeekableByteChannel ch = Files.newByteChannel(d.resolve("big.bin"), StandardOpenOption.WRITE)) {
                ch.truncate(4_500_000);
                assertThat(ch.size()).isEqualTo(4_500_000);
            }
            assertThat(Files.readAllBytes(d.resolve("big.bin"))).isEqualTo(java.util.Arrays.copyOf(big, 4_500_000));
            Files.writeString(d.resolve("hello.txt"), "!", StandardOpenOption.APPEND);
            assertThat(Files.readString(d.resolve("hello.txt"))).isEqualTo("hello, flyer!");
            try (Stream<Path> walk = Files.walk(root)) {
                assertThat(walk.map(Path::toString).toList())
                        .containsExactlyInAnyOrder("/", "/data", "/data/sub", "/data/sub/big.bin", "/data/sub/hello.txt");
            }
            Files.move(d.resolve("hello.txt"), root.resolve("data/hi.txt"));
            assertThat(Files.exists(d.resolve("hello.txt"))).isFalse();
            assertThat(Files.readString(root.resolve("data/hi.txt"), StandardCharsets.UTF_8)).isEqualTo("hello, flyer!");
            assertThatThrownBy(() -> Files.readAllBytes(root.resolve("nope"))).isInstanceOf(NoSuchFileException.class);
            assertThatThrownBy(() -> Files.createDirectory(d)).isInstanceOf(FileAlreadyExistsException.class);
            assertThatThrownBy(() -> Files.delete(root.resolve("data"))).isInstanceOf(DirectoryNotEmptyException.class);
            assertThatThrownBy(() -> Files.write(d.resolve("big.bin"), new byte[1], StandardOpenOption.CREATE_NEW))
                    .isInstanceOf(FileAlreadyExistsException.class);
            Files.delete(d.resolve("big.bin"));
            Files.delete(d);
            try (Stream<Path> list = Files.list(root.resolve("data"))) {
                assertThat(list.map(p -> p.getFileName().toString()).toList()).isEqualTo(List.of("hi.txt"));
            }
            assertThat(root.resolve("data/hi.txt").toUri().toString()).isEqualTo("flyer://" + authority + "/data/hi.txt");
            root.getFileSystem().close();
        }
    }

    @Test
    void pathOperationsFollowTheJdkContract() {
        FlyerFileSystemProvider provider = new FlyerFileSystemProvider();
        FlyerFileSystem fs = new FlyerFileSystem(provider, "h:1", null);
        Path p = fs.getPath("/a/b/c");
        assertThat(p.getParent().toString()).isEqualTo("/a/b");
        assertThat(p.getFileName().toString()).isEqualTo("c");
        assertThat(p.getNameCount()).isEqualTo(3);
        assertThat(p.subpath(1, 3).toString()).isEqualTo("b/c");
        assertThat(p.startsWith(fs.getPath("/a"))).isTrue();
        assertThat(p.endsWith(fs.getPath("b/c"))).isTrue();
        assertThat(fs.getPath("/a/./b/../c").normalize().toString()).isEqualTo("/a/c");
        assertThat(fs.getPath("/a").relativize(fs.getPath("/a/b/c")).toString()).isEqualTo("b/c");
        assertThat(fs.getPath("/a/x").relativize(fs.getPath("/a/b")).toString()).isEqualTo("../b");
        assertThat(fs.getPath("/").getParent()).isNull();
        assertThat(fs.getPath("x").isAbsolute()).isFalse();
        assertThat(fs.getPath("x").toAbsolutePath().toString()).isEqualTo("/x");
    }
}
