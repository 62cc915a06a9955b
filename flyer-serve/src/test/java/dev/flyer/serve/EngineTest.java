package dev.flyer.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Continuous batching and preemption give each request exactly what it gets alone (greedy). */
@Timeout(180)
class EngineTest {
    static DeepSeekModel model;

    @BeforeAll
    static void load() throws Exception {
        model = DeepSeekModel.load(GoldenLogitsTest.fixture("tiny-v3"));
    }

    @AfterAll
    static void close() {
        model.close();
    }

    record Outcome(List<Integer> tokens, String reason) {}

    static final class Collect implements Engine.Listener {
        final List<Integer> tokens = new CopyOnWriteArrayList<>();
        volatile String reason;

        @Override
        public void onToken(int token) {
            tokens.add(token);
        }

        @Override
        public void onFinish(String why) {
            reason = why;
        }
    }

    static int[][] prompts(long seed, int count) {
        System.out.println("seed " + seed);
        Random random = new Random(seed);
        int[][] out = new int[count][];
        for (int i = 0; i < count; i++) {
            out[i] = random.ints(1 + random.nextInt(i % 3 == 0 ? 150 : 20), 2, 512).toArray();
        }
        return out;
    }

    static List<Integer> alone(int[] prompt, int maxTokens) {
        int[] t = Generator.generate(model, prompt, maxTokens, Sampler.greedy(), false, null).tokens();
        List<Integer> l = new ArrayList<>();
        for (int v : t) {
            l.add(v);
        }
        return l;
    }

    private static void runAndCompare(Engine.Options options, int[][] prompts, int maxTokens, Engine[] keep) throws Exception {
        try (Engine engine = new Engine(model, options)) {
            keep[0] = engine;
            List<Collect> outs = new ArrayList<>();
            List<Engine.Request> requests = new ArrayList<>();
            for (int[] p : prompts) {
                Collect c = new Collect();
                outs.add(c);
                requests.add(engine.submit(p, maxTokens, Sampler.greedy(), c));
            }
            for (Engine.Request r : requests) {
                r.done().get(120, TimeUnit.SECONDS);
            }
            for (int i = 0; i < prompts.length; i++) {
                assertThat(outs.get(i).tokens).as("request %d", i).isEqualTo(alone(prompts[i], maxTokens));
                assertThat(outs.get(i).reason).isIn("length", "stop");
            }
        }
    }

    @Test
    void concurrentMixedLengthsEqualRunningAlone() throws Exception {
        Engine[] engine = new Engine[1];
        runAndCompare(new Engine.Options(4096, 8, 64), prompts(7, 12), 6, engine);
        assertThat(engine[0].preemptions()).isZero();
        assertThat(engine[0].generatedTokens()).isEqualTo(12 * 6);
    }

    @Test
    void preemptionAndResumeGiveIdenticalOutputs() throws Exception {
        Engine[] engine = new Engine[1];
        // three 1-block prompts fill a 3-block cache; the first to cross token 64 forces a preemption
        int[][] prompts = {new Random(1).ints(60, 2, 512).toArray(), new Random(2).ints(61, 2, 512).toArray(),
            new Random(3).ints(62, 2, 512).toArray()};
        runAndCompare(new Engine.Options(192, 8, 256), prompts, 8, engine);
        assertThat(engine[0].preemptions()).isPositive();
        assertThat(engine[0].kvBlocksInUse()).isZero();
    }

    @Test
    void badRequestsFailTheCallerAndCloseAbortsTheRest() throws Exception {
        Engine engine = new Engine(model, new Engine.Options(512, 4, 64));
        assertThatThrownBy(() -> engine.submit(new int[] {1, 600}, 4, Sampler.greedy(), new Collect()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("token 600 is outside the vocabulary");
        assertThatThrownBy(() -> engine.submit(new int[300], 4, Sampler.greedy(), new Collect()))
                .hasMessageContaining("does not fit the context of 256");
        assertThatThrownBy(() -> engine.submit(new int[0], 4, Sampler.greedy(), new Collect())).hasMessageContaining("at least one");
        Collect c = new Collect();
        Engine.Request r = engine.submit(new int[] {5, 6}, 200, Sampler.greedy(), c);
        engine.close();
        assertThat(r.done().get(30, TimeUnit.SECONDS)).isIn("aborted", "length");
        assertThatThrownBy(() -> engine.submit(new int[] {5}, 1, Sampler.greedy(), new Collect()))
                .isInstanceOf(IllegalStateException.class);
    }

    @Test
    void prefixCacheHitsGiveIdenticalOutputs() throws Exception {
        int[] shared = new Random(9).ints(150, 2, 512).toArray();
        int[][] prompts = new int[4][];
        for (int i = 0; i < prompts.length; i++) {
            prompts[i] = java.util.Arrays.copyOf(shared, 150 + 5 + i);
            for (int j = 150; j < prompts[i].length; j++) {
                prompts[i][j] = 10 + i + j;
            }
        }
        try (Engine engine = new Engine(model, new Engine.Options(2048, 8, 256))) {
            for (int[] p : prompts) {
                Collect c = new Collect();
                engine.submit(p, 5, Sampler.greedy(), c).done().get(60, TimeUnit.SECONDS);
                assertThat(c.tokens).isEqualTo(alone(p, 5));
            }
            // the first request computes two full blocks of the shared prefix; the other three adopt them
            assertThat(engine.prefixHitTokens()).isEqualTo(3 * 128);
            assertThat(engine.prefixHitRatio()).isGreaterThan(0.5);
        }
    }
}
