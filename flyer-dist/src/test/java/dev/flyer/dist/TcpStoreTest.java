package dev.flyer.dist;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TcpStoreTest {
    @Test
    void setGetAddAndWaitingGets() throws Exception {
        try (TcpStore host = TcpStore.host("127.0.0.1", 0);
             TcpStore client = TcpStore.connect("127.0.0.1", host.port(), Duration.ofSeconds(5))) {
            host.set("a", "1");
            assertThat(client.getString("a", Duration.ofSeconds(1))).isEqualTo("1");
            assertThat(client.add("n", 5)).isEqualTo(5);
            assertThat(host.add("n", -2)).isEqualTo(3);
            CompletableFuture<String> waiting = CompletableFuture.supplyAsync(
                    () -> client.getString("later", Duration.ofSeconds(10)));
            Thread.sleep(100);
            assertThat(waiting).isNotDone();
            host.set("later", "here");
            assertThat(waiting.get(5, TimeUnit.SECONDS)).isEqualTo("here");
        }
    }

    @Test
    void timeoutsAndUnreachableStoresAreClearErrors() throws Exception {
        try (TcpStore host = TcpStore.host("127.0.0.1", 0)) {
            assertThatThrownBy(() -> host.get("never", Duration.ofMillis(200))).isInstanceOf(DistException.class)
                    .hasMessageContaining("key \"never\" was not set within 200 ms");
        }
        int port;
        try (var s = new java.net.ServerSocket(0)) {
            port = s.getLocalPort();
        }
        assertThatThrownBy(() -> TcpStore.connect("127.0.0.1", port, Duration.ofMillis(300)))
                .isInstanceOf(DistException.class).hasMessageContaining("could not reach the store at 127.0.0.1:" + port);
    }

    @Test
    void environmentConventions() {
        var torch = DistEnv.fromEnvironment(java.util.Map.of("RANK", "3", "WORLD_SIZE", "4", "LOCAL_RANK", "1",
                "LOCAL_WORLD_SIZE", "2", "MASTER_ADDR", "10.0.0.1", "MASTER_PORT", "1234"));
        assertThat(torch).isEqualTo(new DistEnv(3, 4, 1, 2, "10.0.0.1", 1234));
        var mpi = DistEnv.fromEnvironment(java.util.Map.of("OMPI_COMM_WORLD_RANK", "2", "OMPI_COMM_WORLD_SIZE", "3",
                "OMPI_COMM_WORLD_LOCAL_RANK", "0", "OMPI_COMM_WORLD_LOCAL_SIZE", "1"));
        assertThat(mpi.rank()).isEqualTo(2);
        assertThat(mpi.masterPort()).isEqualTo(DistEnv.DEFAULT_PORT);
        var slurm = DistEnv.fromEnvironment(java.util.Map.of("SLURM_PROCID", "5", "SLURM_NTASKS", "8",
                "SLURM_LOCALID", "1", "SLURM_NTASKS_PER_NODE", "4(x2)"));
        assertThat(slurm).isEqualTo(new DistEnv(5, 8, 1, 4, "127.0.0.1", DistEnv.DEFAULT_PORT));
        assertThat(DistEnv.fromEnvironment(java.util.Map.of())).isEqualTo(DistEnv.single());
        assertThatThrownBy(() -> DistEnv.fromEnvironment(java.util.Map.of("RANK", "4", "WORLD_SIZE", "4")))
                .hasMessageContaining("rank 4 is outside world size 4");
        assertThatThrownBy(() -> DistEnv.fromEnvironment(java.util.Map.of("RANK", "x", "WORLD_SIZE", "4")))
                .hasMessageContaining("RANK=\"x\" is not an integer");
    }
}
