package dev.flyer.bench;

/**
 * One benchmark result: our figure beside the peer's, measured in the same run, and the
 * machine's limit. {@code peer}, {@code limit} and the derived ratios are {@code NaN} when absent.
 *
 * @param name what was measured
 * @param unit unit of {@code ours}, {@code peer} and {@code limit} (higher is better)
 * @param ours our figure
 * @param peer the peer's figure
 * @param peerName what the peer is ({@code "libc memcpy"}, {@code "OpenBLAS"}, ...)
 * @param limit the machine's limit for this figure
 */
public record BenchRow(String name, String unit, double ours, double peer, String peerName, double limit) {
    /** A row without peer or limit. */
    public static BenchRow of(String name, String unit, double ours) {
        return new BenchRow(name, unit, ours, Double.NaN, "", Double.NaN);
    }

    /** {@code ours / peer} (higher means we are faster). */
    public double ratio() {
        return ours / peer;
    }

    /** Our percentage of the machine's limit. */
    public double pctOfLimit() {
        return 100 * ours / limit;
    }
}
