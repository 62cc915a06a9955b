package dev.flyer.dist;

import dev.flyer.dist.internal.StoreServer;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * A key-value store over TCP that ranks rendezvous through, like torch's {@code TCPStore}: rank 0
 * hosts it, everyone (rank 0 included) is a client.
 *
 * <p>Contract: {@link #set} stores bytes under a key; {@link #get} waits until the key exists or
 * the timeout passes ({@link DistException} naming the key); {@link #add} adds to a counter and
 * returns the new value. Connecting retries until the timeout, so ranks may start in any order.
 * One client is safe for use by several threads: each request takes an idle connection or opens
 * another, so a get waiting on the server never holds up the client's other requests.
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
    private final String host;
    private final int port;
    private final Duration connectTimeout;
    private final String where;
    private final ConcurrentLinkedQueue<Connection> idle = new ConcurrentLinkedQueue<>();
    private final Set<Connection> all = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    /** One TCP connection to the server; used by one request at a time. */
    private static final class Connection implements AutoCloseable {
        final Socket socket;
        final DataInputStream in;
        final DataOutputStream out;

        Connection(Socket socket) throws IOException {
            this.socket = socket;
            this.in = new DataInputStream(socket.getInputStream());
            this.out = new DataOutputStream(new java.io.BufferedOutputStream(socket.getOutputStream()));
        }

        @Override
        public void close() {
            try {
                socket.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
    }

    private TcpStore(StoreServer server, String host, int port, Duration connectTimeout) throws IOException {
        this.server = server;
        this.host = host;
        this.port = port;
        this.connectTimeout = connectTimeout;
        this.where = host + ":" + port;
        release(new Connection(connectSocket(host, port, connectTimeout)));
    }

    /** Hosts a store on {@code port} (0 = any free port) and connects to it. */
    public static TcpStore host(String bindAddr, int port) throws IOException {
        StoreServer server = StoreServer.start(bindAddr, port);
        String local = bindAddr.equals("0.0.0.0") ? "127.0.0.1" : bindAddr;
        try {
            return new TcpStore(server, local, server.port(), Duration.ofSeconds(10));
        } catch (IOException | RuntimeException e) {
            server.close();
            throw e;
        }
    }

    /** Connects to the store at {@code host:port}, retrying until {@code timeout}. */
    public static TcpStore connect(String host, int port, Duration timeout) throws IOException {
        return new TcpStore(null, host, port, timeout);
    }

    /** This client's address as the store sees it: the address other hosts can reach us at. */
    public String localAddress() {
        Connection c = acquire();
        try {
            return c.socket.getLocalAddress().getHostAddress();
        } finally {
            release(c);
        }
    }

    /** The port the hosted store listens on (hosting client only). */
    public int port() {
        return port;
    }

    public void set(String key, byte[] value) {
        request(SET, key, 0, value);
    }

    public void set(String key, String value) {
        set(key, value.getBytes(StandardCharsets.UTF_8));
    }

    /** The value of {@code key}, waiting up to {@code timeout} for it to be set. */
    public byte[] get(String key, Duration timeout) {
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
    public long add(String key, long delta) {
        return request(ADD, key, delta, new byte[0]).arg;
    }

    private record Reply(byte status, long arg, byte[] value) {}

    private Reply request(byte op, String key, long arg, byte[] value) {
        Connection c = acquire();
        try {
            byte[] k = key.getBytes(StandardCharsets.UTF_8);
            c.out.writeByte(op);
            c.out.writeShort(k.length);
            c.out.write(k);
            c.out.writeLong(arg);
            c.out.writeInt(value.length);
            c.out.write(value);
            c.out.flush();
            byte status = c.in.readByte();
            long replyArg = c.in.readLong();
            byte[] replyValue = new byte[c.in.readInt()];
            c.in.readFully(replyValue);
            release(c);
            return new Reply(status, replyArg, replyValue);
        } catch (IOException e) {
            all.remove(c);
            c.close();
            throw new DistException("store " + where + " unreachable during " + (op == SET ? "set" : op == GET ? "get" : "add")
                    + " of \"" + key + "\": " + e.getMessage(), e);
        }
    }

    /** An idle connection, or a new one: a get that waits on the server never blocks other requests. */
    private Connection acquire() {
        if (closed) {
            throw new DistException("store client for " + where + " is closed");
        }
        Connection c = idle.poll();
        if (c != null) {
            return c;
        }
        try {
            c = new Connection(connectSocket(host, port, connectTimeout));
            all.add(c);
            return c;
        } catch (IOException e) {
            throw new DistException("store " + where + " unreachable: " + e.getMessage(), e);
        }
    }

    private void release(Connection c) {
        all.add(c);
        idle.add(c);
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
        closed = true;
        all.forEach(Connection::close);
        if (server != null) {
            server.close();
        }
    }
}
