package dev.flyer.dist.internal;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The server side of {@link dev.flyer.dist.TcpStore}: one virtual thread per client connection,
 * a map guarded by a lock, and a condition that wakes waiting gets on every set.
 */
public final class StoreServer implements AutoCloseable {
    private static final byte SET = 1;
    private static final byte GET = 2;
    private static final byte ADD = 3;

    private final ServerSocket socket;
    private final Map<String, byte[]> values = new HashMap<>();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private volatile boolean closed;

    private StoreServer(ServerSocket socket) {
        this.socket = socket;
    }

    public static StoreServer start(String bindAddr, int port) throws IOException {
        ServerSocket s = new ServerSocket();
        s.setReuseAddress(true);
        s.bind(new InetSocketAddress(InetAddress.getByName(bindAddr), port), 1024);
        StoreServer server = new StoreServer(s);
        Thread.ofVirtual().name("flyer-store-accept").start(server::acceptLoop);
        return server;
    }

    public int port() {
        return socket.getLocalPort();
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                Socket client = socket.accept();
                client.setTcpNoDelay(true);
                Thread.ofVirtual().name("flyer-store-client").start(() -> serve(client));
            } catch (IOException e) {
                if (!closed) {
                    System.err.println("flyer store: accept failed: " + e.getMessage());
                }
                return;
            }
        }
    }

    private void serve(Socket client) {
        try (client; DataInputStream in = new DataInputStream(client.getInputStream());
             DataOutputStream out = new DataOutputStream(new java.io.BufferedOutputStream(client.getOutputStream()))) {
            while (!closed) {
                byte op = in.readByte();
                byte[] k = new byte[in.readUnsignedShort()];
                in.readFully(k);
                long arg = in.readLong();
                byte[] value = new byte[in.readInt()];
                in.readFully(value);
                Reply r = handle(op, new String(k, StandardCharsets.UTF_8), arg, value);
                out.writeByte(r.status());
                out.writeLong(r.arg());
                out.writeInt(r.value().length);
                out.write(r.value());
                out.flush();
            }
        } catch (EOFException done) {
            // client closed
        } catch (IOException | InterruptedException e) {
            if (!closed) {
                System.err.println("flyer store: client connection failed: " + e.getMessage());
            }
        }
    }

    private record Reply(byte status, long arg, byte[] value) {}

    private Reply handle(byte op, String key, long arg, byte[] value) throws IOException, InterruptedException {
        lock.lock();
        try {
            return switch (op) {
                case SET -> {
                    values.put(key, value);
                    changed.signalAll();
                    yield new Reply((byte) 0, 0, new byte[0]);
                }
                case GET -> {
                    long remaining = TimeUnit.MILLISECONDS.toNanos(arg);
                    while (!values.containsKey(key) && remaining > 0 && !closed) {
                        remaining = changed.awaitNanos(remaining);
                    }
                    byte[] found = values.get(key);
                    yield new Reply(found == null ? (byte) 1 : (byte) 0, 0, found == null ? new byte[0] : found);
                }
                case ADD -> {
                    byte[] old = values.get(key);
                    long next = (old == null ? 0 : Long.parseLong(new String(old, StandardCharsets.UTF_8))) + arg;
                    values.put(key, Long.toString(next).getBytes(StandardCharsets.UTF_8));
                    changed.signalAll();
                    yield new Reply((byte) 0, next, new byte[0]);
                }
                default -> throw new IOException("unknown store op " + op);
            };
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void close() {
        closed = true;
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing anyway
        }
        lock.lock();
        try {
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }
}
