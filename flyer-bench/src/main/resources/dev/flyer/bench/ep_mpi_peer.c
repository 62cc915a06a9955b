/*
 * The Open MPI peer of `flyer bench ep`: the same MoE exchanges with MPI_Alltoall (counts first)
 * and MPI_Alltoallv (rows), as an MPI-based MoE layer would do them.
 *
 *   ep_mpi_peer DIR MODE TOKENS HIDDEN TOPK EXPERTS ITERS
 *
 * Reads DIR/routing-<rank>.bin (TOKENS*TOPK int32 expert ids, -1 = none), written by the Flyer
 * ranks of the same setting. MODE "normal": dispatch = one row per (token, destination rank),
 * FP8 payload (HIDDEN bytes + HIDDEN/128 float scales), packed in destination order; combine =
 * BF16 rows back and an FP32 sum per token. MODE "low_latency": one row per (token, expert),
 * FP8 + scales + 16 B header; combine = BF16 rows back and a weighted FP32 sum (weights 1).
 * Prints rank 0's line: "mpi MODE dispatch_s=<median> combine_s=<median> recv_bytes=<mean per rank>
 * combine_bytes=<mean per rank>": per call, the median over 5 samples (after 2 warm-up samples) of
 * the slowest rank's time for ITERS back-to-back calls after a barrier.
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static float bf16_to_float(uint16_t b) {
    uint32_t u = (uint32_t)b << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static uint16_t float_to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return (uint16_t)((u + 0x7FFF + ((u >> 16) & 1)) >> 16);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, ranks;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    if (argc != 8) {
        if (rank == 0) fprintf(stderr, "usage: ep_mpi_peer DIR MODE TOKENS HIDDEN TOPK EXPERTS ITERS\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    const char *dir = argv[1];
    int ll = strcmp(argv[2], "low_latency") == 0;
    int tokens = atoi(argv[3]), hidden = atoi(argv[4]), topk = atoi(argv[5]), experts = atoi(argv[6]);
    int iters = atoi(argv[7]);
    int per_rank = experts / ranks;
    char path[4096];
    snprintf(path, sizeof path, "%s/routing-%d.bin", dir, rank);
    FILE *f = fopen(path, "rb");
    int32_t *idx = malloc(sizeof(int32_t) * (size_t)tokens * topk);
    if (!f || fread(idx, sizeof(int32_t), (size_t)tokens * topk, f) != (size_t)tokens * topk) {
        fprintf(stderr, "rank %d: cannot read %s\n", rank, path);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    fclose(f);
    size_t in_row = (size_t)hidden + hidden / 128 * 4 + (ll ? 16 : 0);
    size_t back_row = (size_t)hidden * 2;
    /* rows to send: (token, rank) pairs for normal, (token, expert) pairs for low latency, grouped by rank */
    int *send_counts = calloc(ranks, sizeof(int)), *recv_counts = calloc(ranks, sizeof(int));
    int *row_token = malloc(sizeof(int) * (size_t)tokens * topk);
    int rows = 0;
    for (int r = 0; r < ranks; r++) {
        for (int t = 0; t < tokens; t++) {
            int hit = 0;
            for (int k = 0; k < topk; k++) {
                int e = idx[t * topk + k];
                if (e >= 0 && e / per_rank == r) {
                    if (ll) { row_token[rows++] = t; send_counts[r]++; }
                    else hit = 1;
                }
            }
            if (!ll && hit) { row_token[rows++] = t; send_counts[r]++; }
        }
    }
    unsigned char *x = malloc((size_t)tokens * in_row);
    uint16_t *y = malloc(sizeof(uint16_t) * (size_t)tokens * hidden);
    for (size_t i = 0; i < (size_t)tokens * in_row; i++) x[i] = (unsigned char)(i * 31 + rank);
    unsigned char *send = malloc((size_t)rows * in_row + 1);
    double *dt = malloc(sizeof(double) * 8), *ct = malloc(sizeof(double) * 8);
    int *sdispl = malloc(sizeof(int) * ranks), *rdispl = malloc(sizeof(int) * ranks);
    int *sbytes = malloc(sizeof(int) * ranks), *rbytes = malloc(sizeof(int) * ranks);
    unsigned char *recv = NULL, *back = NULL, *back_in = NULL;
    long recv_rows = 0;
    float *acc = malloc(sizeof(float) * (size_t)tokens * hidden);
    /* samples of ITERS back-to-back calls each (after a barrier), like DeepEP's bench loop; two warm-up samples */
    int samples = 5;
    for (int sample = 0; sample < samples + 2; sample++) {
        double times[2];
        for (int op = 0; op < 2; op++) {
            MPI_Barrier(MPI_COMM_WORLD);
            double t0 = MPI_Wtime();
            for (int it = 0; it < iters; it++) {
                if (op == 0) {
                    for (int i = 0; i < rows; i++) memcpy(send + (size_t)i * in_row, x + (size_t)row_token[i] * in_row, in_row);
                    MPI_Alltoall(send_counts, 1, MPI_INT, recv_counts, 1, MPI_INT, MPI_COMM_WORLD);
                    recv_rows = 0;
                    for (int r = 0; r < ranks; r++) {
                        sbytes[r] = send_counts[r] * (int)in_row;
                        rbytes[r] = recv_counts[r] * (int)in_row;
                        sdispl[r] = r == 0 ? 0 : sdispl[r - 1] + sbytes[r - 1];
                        rdispl[r] = r == 0 ? 0 : rdispl[r - 1] + rbytes[r - 1];
                        recv_rows += recv_counts[r];
                    }
                    if (!recv) {
                        recv = malloc((size_t)recv_rows * in_row + 1);
                        back = malloc((size_t)recv_rows * back_row + 1);
                        back_in = malloc((size_t)rows * back_row + 1);
                        memset(back, 0x3c, (size_t)recv_rows * back_row + 1);
                    }
                    MPI_Alltoallv(send, sbytes, sdispl, MPI_BYTE, recv, rbytes, rdispl, MPI_BYTE, MPI_COMM_WORLD);
                } else {
                    /* combine: the reverse exchange of BF16 rows, then the sum per token at the source */
                    for (int r = 0; r < ranks; r++) {
                        sbytes[r] = recv_counts[r] * (int)back_row;
                        rbytes[r] = send_counts[r] * (int)back_row;
                        sdispl[r] = r == 0 ? 0 : sdispl[r - 1] + sbytes[r - 1];
                        rdispl[r] = r == 0 ? 0 : rdispl[r - 1] + rbytes[r - 1];
                    }
                    MPI_Alltoallv(back, sbytes, sdispl, MPI_BYTE, back_in, rbytes, rdispl, MPI_BYTE, MPI_COMM_WORLD);
                    memset(acc, 0, sizeof(float) * (size_t)tokens * hidden);
                    for (int i = 0; i < rows; i++) {
                        float *a = acc + (size_t)row_token[i] * hidden;
                        const uint16_t *b = (const uint16_t *)(back_in + (size_t)i * back_row);
                        for (int c = 0; c < hidden; c++) a[c] += bf16_to_float(b[c]);
                    }
                    for (size_t i = 0; i < (size_t)tokens * hidden; i++) y[i] = float_to_bf16(acc[i]);
                }
            }
            times[op] = (MPI_Wtime() - t0) / iters;
        }
        double worst[2];
        MPI_Allreduce(times, worst, 2, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
        if (sample >= 2) { dt[sample - 2] = worst[0]; ct[sample - 2] = worst[1]; }
    }
    qsort(dt, samples, sizeof(double), cmp_double);
    qsort(ct, samples, sizeof(double), cmp_double);
    double mine[2] = {(double)recv_rows * in_row, (double)recv_rows * back_row}, sum[2];
    MPI_Reduce(mine, sum, 2, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
    if (rank == 0) {
        printf("mpi %s dispatch_s=%.9f combine_s=%.9f recv_bytes=%.0f combine_bytes=%.0f checksum=%u\n", argv[2],
               dt[samples / 2], ct[samples / 2], sum[0] / ranks, sum[1] / ranks, (unsigned)y[0]);
    }
    MPI_Finalize();
    return 0;
}
