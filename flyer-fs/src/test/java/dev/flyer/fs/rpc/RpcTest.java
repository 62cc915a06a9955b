package dev.flyer.fs.rpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RpcTest {
    static final long SECOND = TimeUnit.SECONDS.toNanos(1);

    @Test
    void callsErrorsTimeoutsAndNewerTrailingFields() throws Exception {
        try (RpcServer server = new RpcServer()) {
            server.handle(1, (req, resp) -> resp.putBytes(req.getBytes()).putLong(req.getLong() + 1));
            server.handle(2, (req, resp) -> {
                throw new IllegalArgumentException("bad thing");
            });
            server.handle(3, (req, resp) -> Thread.sleep(2000));
            server.handle(4, (req, resp) -> resp.struct(w -> w.putInt(7).putString("a field old readers skip")).putInt(99));
            server.errors(t -> t instanceof IllegalArgumentException ? new String[] {"test", "INVALID"} : null);
            InetSocketAddress at = server.start("127.0.0.1", 0);
            RpcClient c = RpcClient.to("127.0.0.1:" + at.getPort());
            byte[] big = new byte[8 << 20];
            new Random(1).nextBytes(big);
            byte[][] echoed = new byte[1][];
            long got = c.call(1, w -> w.putBytes(big).putLong(41), r -> {
                echoed[0] = r.getBytes();
                return r.getLong();
            }, 10 * SECOND);
            assertThat(got).isEqualTo(42);
            assertThat(echoed[0]).isEqualTo(big);
            assertThatThrownBy(() -> c.call(2, w -> { }, r -> null, SECOND)).isInstanceOfSatisfying(RpcException.class, e -> {
                assertThat(e.domain()).isEqualTo("test");
                assertThat(e.code()).isEqualTo("INVALID");
                assertThat(e.detail()).isEqualTo("bad thing");
            });
            assertThatThrownBy(() -> c.call(3, w -> { }, r -> null, SECOND / 5))
                    .isInstanceOfSatisfying(RpcException.class, e -> assertThat(e.code()).isEqualTo("TIMEOUT"));
            assertThatThrownBy(() -> c.call(9, w -> { }, r -> null, SECOND))
                    .isInstanceOfSatisfying(RpcException.class, e -> assertThat(e.code()).isEqualTo("NO_SUCH_METHOD"));
            int[] old = c.call(4, w -> { }, r -> new int[] {r.struct(MessageReader::getInt), r.getInt()}, SECOND);
            assertThat(old).containsExactly(7, 99);
            assertThat(c.<Long>call(1, w -> w.putBytes(new byte[3]).putLong(1), r -> {
                r.getBytes();
                return r.getLong();
            }, SECOND).longValue()).as("the connection still works after a timeout").isEqualTo(2);

            try (Socket raw = new Socket("127.0.0.1", at.getPort())) { // a frame whose body fails its CRC
                DataOutputStream out = new DataOutputStream(raw.getOutputStream());
                out.write(new byte[] {'F', 'Y', 1, 0, 0, 1, 0, 0});
                out.writeLong(5);
                out.writeInt(4);
                out.writeInt(12345);
                out.writeInt(0);
                out.flush();
                DataInputStream in = new DataInputStream(raw.getInputStream());
                byte[] header = new byte[24];
                in.readFully(header);
                assertThat(header[3]).as("error frame").isEqualTo((byte) 2);
            }
        }
    }

    @Test
    void unreachableServersFailFast() {
        RpcClient c = RpcClient.to("127.0.0.1:1");
        assertThatThrownBy(() -> c.call(1, w -> { }, r -> null, SECOND))
                .isInstanceOfSatisfying(RpcException.class, e -> assertThat(e.code()).isEqualTo("UNREACHABLE"));
    }
}
