package dev.flyer.dualpipe.internal;

import dev.flyer.dualpipe.Method;

/**
 * Where each rank's phase sits in the pipelines a schedule runs: pipeline id, stage index within
 * it, and the rank that holds each stage.
 *
 * <pre>
 * DualPipe (P ranks): pipeline d = phase ^ (rank >= P/2); pipeline 0 runs ranks 0..P-1, pipeline 1
 *                     runs P-1..0; each carries half the chunks
 * DualPipeV:          one pipeline of 2P stages: stage r is rank r's phase 0, stage 2P-1-r its phase 1
 * 1F1B, ZB1P:         one pipeline, stage r on rank r
 * </pre>
 */
public record Topology(Method method, int ranks) {
    public int pipelines() {
        return method == Method.DUALPIPE ? 2 : 1;
    }

    public int stages() {
        return method.stages(ranks);
    }

    public int chunksPerPipeline(int chunks) {
        return method == Method.DUALPIPE ? chunks / 2 : chunks;
    }

    public int pipeline(int rank, int phase) {
        return method == Method.DUALPIPE ? phase ^ (rank >= ranks / 2 ? 1 : 0) : 0;
    }

    public int stage(int rank, int phase) {
        return switch (method) {
            case DUALPIPE -> pipeline(rank, phase) == 0 ? rank : ranks - 1 - rank;
            case DUALPIPEV -> phase == 0 ? rank : 2 * ranks - 1 - rank;
            default -> rank;
        };
    }

    public int rankOf(int pipeline, int stage) {
        return switch (method) {
            case DUALPIPE -> pipeline == 0 ? stage : ranks - 1 - stage;
            case DUALPIPEV -> stage < ranks ? stage : 2 * ranks - 1 - stage;
            default -> stage;
        };
    }
}
