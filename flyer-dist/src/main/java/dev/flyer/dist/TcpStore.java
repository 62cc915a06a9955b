package dev.flyer.dist;

import dev.flyer.dist.internal.StoreServer;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * A key-value store over TCP that ranks rendezvous through, like torch's {@code TCPStore}: rank 0
 * hosts it, everyone (rank 0 included) is a client.
 *
 * <p>Contract: {@link #set} stores bytes under a key; {@link #get} waits until the key exists or
 * the timeout passes ({@link DistException} naming the key); {@link #add} adds to a counter and
 * returns the new value. Connecting retries until the timeout, so ranks may start in any order.
 * One client is safe for use by several threads (requests are serialised).
 *
 * <p>Implementation notes: the wire format is a request {@code [op u8][key utf8 (u16 length)]
 * [arg i64][value (i32 length)]} and a reply {@code [status u8][arg i64][value (i32 length)]};
 * waiting happens on the server, so a get costs one round trip however long it waits.
 */
public final class TcpStore implements AutoCloseable {
    static final byte SET = 1;
    static final byte GET = 2;
    static final byte ADD = 3;
    static final byte OK = 0;
    static final byte TIMEOUT = 1;

    private final StoreServer server;
    private final Socket socket;
    private final DataInputStream in;
    private final DataOutputStream out;
    private final String where;

    private TcpStore(StoreServer server, Socket socket, String where) throws IOException {
        this.server = server;
        this.socket = socket;
        this.in = new DataInputStream(socket.getInputStream());
        this.out = new DataOutputStream(new java.io.BufferedOutputStream(socket.getOutputStream()));
        this.where = where;
    }

    /** Hosts a store on {@code port} (0 = any free port) and connects to it. */
    public static TcpStore host(String bindAddr, int port) throws IOException {
        StoreServer server = StoreServer.start(bindAddr, port);
        try {
            return new TcpStore(server, connectSocket(bindAddr, server.port(), Duration.ofSeconds(10)),
                    bindAddr + ":" + server.port());
        } catch (IOException | RuntimeException e) {
            server.close();
            throw e;
        }
    }

    /** Connects to the store at {@code host:port}, retrying until {@code timeout}. */
    public static TcpStore connect(String host, int port, Duration timeout) throws IOException {
        return new TcpStore(null, connectSocket(host, port, timeout), host + ":" + port);
    }

    /** This client's address as the store sees it: the address other hosts can reach us at. */
    public String localAddress() {
        return socket.getLocalAddress().getHostAddress();
    }

    /** The port the hosted store listens on (hosting client only). */
    public int port() {
        return server == null ? socket.getPort() : server.port();
    }

    public synchronized void set(String key, byte[] value) {
        request(SET, key, 0, value);
    }

    public void set(String key, String value) {
        set(key, value.getBytes(StandardCharsets.UTF_8));
    }

    /** The value of {@code key}, waiting up to {@code timeout} for it to be set. */
    public synchronized byte[] get(String key, Duration timeout) {
        Reply r = request(GET, key, timeout.toMillis(), new byte[0]);
        if (r.status == TIMEOUT) {
            throw new DistException("store " + where + ": key \"" + key + "\" was not set within " + timeout.toMillis() + " ms");
        }
        return r.value;
    }

    public String getString(String key, Duration timeout) {
        return new String(get(key, timeout), StandardCharsets.UTF_8);
    }

    /** Adds {@code delta} to the counter {@code key} (0 when new) and returns the result. */
    public synchronized long add(String key, long delta) {
        return request(ADD, key, delta, new byte[0]).arg;
    }

    private record Reply(byte status, long arg, byte[] value) {}

    private Reply request(byte op, String key, long arg, byte[] value) {
        try {
            byte[] k = key.getBytes(StandardCharsets.UTF_8);
            out.writeByte(op);
            out.writeShort(k.length);
            out.write(k);
            out.writeLong(arg);
            out.writeInt(value.length);
            out.write(value);
            out.flush();
            byte status = in.readByte();
            long replyArg = in.readLong();
            byte[] replyValue = new byte[in.readInt()];
            in.readFully(replyValue);
            return new Reply(status, replyArg, replyValue);
        } catch (IOException e) {
            throw new DistException("store " + where + " unreachable during " + (op == SET ? "set" : op == GET ? "get" : "add")
                    + " of \"" + key + "\": " + e.getMessage(), e);
        }
    }

    private static Socket connectSocket(String host, int port, Duration timeout) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        IOException last = null;
        do {
            Socket s = new Socket();
            try {
                s.setTcpNoDelay(true);
                s.connect(new InetSocketAddress(host, port), (int) Math.max(1, Math.min(2000, timeout.toMillis())));
                return s;
            } catch (IOException e) {
                last = e;
                s.close();
                try {
                    Thread.sleep(50);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while connecting to the store at " + host + ":" + port, ie);
                }
            }
        } while (System.nanoTime() < deadline);
        throw new DistException("could not reach the store at " + host + ":" + port + " within " + timeout.toMillis()
                + " ms (is rank 0 running, and MASTER_ADDR/MASTER_PORT right?): " + last.getMessage(), last);
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing anyway
        }
        if (server != null) {
            server.close();
        }
    }
}
