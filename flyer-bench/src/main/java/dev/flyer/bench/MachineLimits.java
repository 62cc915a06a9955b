package dev.flyer.bench;

/**
 * The machine's yardsticks that other benchmarks use as their "limit" column.
 *
 * @param copyGBs1 STREAM copy bandwidth, one thread, GB/s (bytes read + written)
 * @param copyGBsAll STREAM copy bandwidth, all threads
 * @param fmaGflops1 FP32 FMA peak, one thread, GFLOP/s (2 flops per FMA)
 * @param fmaGflopsAll FP32 FMA peak, all threads
 */
public record MachineLimits(double copyGBs1, double copyGBsAll, double fmaGflops1, double fmaGflopsAll) {}
