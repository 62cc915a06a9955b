package dev.flyer.eplb.internal;

/**
 * Packs {@code n} weighted items into {@code packs} packs of exactly {@code n / packs} items,
 * greedily: heaviest item first, into the currently lightest pack that still has room.
 *
 * <p>Implementation notes: follows {@code balanced_packing} in deepseek-ai/EPLB {@code eplb.py}
 * (commit d52c72d). Bit-compatibility choices: items are sorted by weight descending with ties
 * in ascending index order (a stable sort; PyTorch's default sort leaves tie order unspecified);
 * pack loads accumulate in float32, as the original adds float32 tensor scalars; among packs of
 * equal load the lowest index wins (Python's {@code min} keeps the first). When every pack takes
 * one item the packing is the identity, as in the original.
 *
 * <p>The co-location variant ({@link #packAvoiding}) prefers, among packs with room, the
 * lightest pack not already holding an item of the same key, as long as the item then stays
 * within the default packing's maximum load.
 */
public final class BalancedPacking {
    private BalancedPacking() {}

    /** Item order: weight descending, index ascending on ties. */
    public static int[] descendingOrder(float[] weight) {
        Integer[] boxed = new Integer[weight.length];
        for (int i = 0; i < boxed.length; i++) {
            boxed[i] = i;
        }
        java.util.Arrays.sort(boxed, (a, b) -> {
            int c = Float.compare(weight[b], weight[a]);
            return c != 0 ? c : Integer.compare(a, b);
        });
        int[] order = new int[boxed.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = boxed[i];
        }
        return order;
    }

    /**
     * Writes each item's pack to {@code packIndex} and its rank inside the pack to {@code rankInPack}.
     *
     * @throws IllegalArgumentException when the items do not divide evenly into the packs
     */
    public static void pack(float[] weight, int packs, int[] packIndex, int[] rankInPack) {
        int perPack = perPack(weight.length, packs);
        if (perPack == 1) {
            identity(packIndex, rankInPack);
            return;
        }
        float[] load = new float[packs];
        int[] items = new int[packs];
        for (int item : descendingOrder(weight)) {
            int best = lightestWithRoom(load, items, perPack, -1, null);
            place(item, best, weight, load, items, packIndex, rankInPack);
        }
    }

    /**
     * As {@link #pack} but avoiding two items with the same {@code key} in one pack where the
     * maximum pack load of the default packing allows it; falls back to {@link #pack}'s result
     * when avoiding would raise the maximum load.
     */
    public static void packAvoiding(float[] weight, int[] key, int packs, int[] packIndex, int[] rankInPack) {
        pack(weight, packs, packIndex, rankInPack);
        int perPack = perPack(weight.length, packs);
        if (perPack == 1) {
            return;
        }
        float limit = maxLoad(weight, packIndex, packs);
        int[] altIndex = new int[weight.length];
        int[] altRank = new int[weight.length];
        float[] load = new float[packs];
        int[] items = new int[packs];
        boolean[][] holds = new boolean[packs][maxKey(key) + 1];
        for (int item : descendingOrder(weight)) {
            int best = lightestWithRoom(load, items, perPack, key[item], holds);
            if (best < 0 || load[best] + weight[item] > limit) {
                best = lightestWithRoom(load, items, perPack, -1, null);
            }
            holds[best][key[item]] = true;
            place(item, best, weight, load, items, altIndex, altRank);
        }
        if (maxLoad(weight, altIndex, packs) <= limit) {
            System.arraycopy(altIndex, 0, packIndex, 0, packIndex.length);
            System.arraycopy(altRank, 0, rankInPack, 0, rankInPack.length);
        }
    }

    private static int perPack(int n, int packs) {
        if (packs <= 0 || n % packs != 0) {
            throw new IllegalArgumentException(n + " items do not divide evenly into " + packs + " packs");
        }
        return n / packs;
    }

    private static void identity(int[] packIndex, int[] rankInPack) {
        for (int i = 0; i < packIndex.length; i++) {
            packIndex[i] = i;
            rankInPack[i] = 0;
        }
    }

    private static int lightestWithRoom(float[] load, int[] items, int perPack, int key, boolean[][] holds) {
        int best = -1;
        for (int p = 0; p < load.length; p++) {
            if (items[p] < perPack && (holds == null || !holds[p][key]) && (best < 0 || load[p] < load[best])) {
                best = p;
            }
        }
        return best;
    }

    private static void place(int item, int pack, float[] weight, float[] load, int[] items, int[] packIndex,
                              int[] rankInPack) {
        packIndex[item] = pack;
        rankInPack[item] = items[pack];
        load[pack] += weight[item];
        items[pack]++;
    }

    private static float maxLoad(float[] weight, int[] packIndex, int packs) {
        float[] load = new float[packs];
        for (int i = 0; i < weight.length; i++) {
            load[packIndex[i]] += weight[i];
        }
        float max = Float.NEGATIVE_INFINITY;
        for (float l : load) {
            max = Math.max(max, l);
        }
        return max;
    }

    private static int maxKey(int[] key) {
        int max = 0;
        for (int k : key) {
            max = Math.max(max, k);
        }
        return max;
    }
}
