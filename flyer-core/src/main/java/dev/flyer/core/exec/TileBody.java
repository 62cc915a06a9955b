package dev.flyer.core.exec;

/** The work of one tile; {@code worker} is in {@code [0, pool.threads())} and unique among concurrent calls. */
@FunctionalInterface
public interface TileBody {
    void run(int tile, int worker);
}
