package dev.flyer.fs.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flyer.fs.kv.MemKvEngine;
import dev.flyer.fs.mgmtd.MgmtdClient;
import dev.flyer.fs.mgmtd.MgmtdConfig;
import dev.flyer.fs.mgmtd.NotPrimaryException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A client that knows only a standby cluster manager still reaches the primary. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class MgmtdFailoverTest {
    @TempDir
    Path dir;

    @Test
    void aClientGivenOnlyTheStandbyFollowsItToThePrimary() {
        try (LocalCluster c = new LocalCluster(dir, new MemKvEngine(), 1, 1, 1, MgmtdConfig.fast(1000))) {
            MgmtdServer standby = c.managers().stream().filter(m -> !m.manager().isPrimary()).findFirst().orElseThrow();
            MgmtdClient client = new MgmtdClient(List.of(standby.address()), TimeUnit.SECONDS.toNanos(2),
                    TimeUnit.SECONDS.toNanos(20));
            assertThat(client.refresh().chains()).hasSize(1);
            assertThat(client.routing().nodeAddresses()).hasSize(1);
        }
    }

    @Test
    void theStandbysMessageNamesThePrimaryOrNothing() {
        assertThat(NotPrimaryException.primaryIn(new NotPrimaryException("127.0.0.1:4000").getMessage()))
                .isEqualTo("127.0.0.1:4000");
        assertThat(NotPrimaryException.primaryIn("mgmtd/NOT_PRIMARY: " + new NotPrimaryException(null).getMessage()))
                .isNull();
        assertThat(NotPrimaryException.primaryIn("some other error")).isNull();
    }
}
