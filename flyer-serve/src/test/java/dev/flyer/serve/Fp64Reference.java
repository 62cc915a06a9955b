package dev.flyer.serve;

import dev.flyer.core.quant.QuantizedTensor;
import dev.flyer.core.safetensors.SafeTensors;
import dev.flyer.core.tensor.DType;
import dev.flyer.core.tensor.Tensor;
import java.util.Arrays;

/**
 * A straightforward FP64 forward pass of a DeepSeek checkpoint, written independently of the
 * runtime: the <em>naive</em> (non-absorbed) attention that expands every cached latent into
 * per-head keys and values, dense weights dequantised to doubles, plain loops. Slow; for tests.
 */
final class Fp64Reference {
    private final ModelConfig c;
    private final SafeTensors st;

    Fp64Reference(ModelConfig c, SafeTensors st) {
        this.c = c;
        this.st = st;
    }

    private double[][] matrix(String name) {
        Tensor w = st.get(name + ".weight");
        int n = (int) w.size(0);
        int k = (int) w.size(1);
        float[] flat = w.toFloatArray();
        QuantizedTensor q = w.dtype() == DType.F8_E4M3 ? new QuantizedTensor(w, st.get(name + ".weight_scale_inv"), 128, 128) : null;
        double[][] m = new double[n][k];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < k; j++) {
                m[i][j] = flat[i * k + j] * (q == null ? 1.0 : q.scale(i, j));
            }
        }
        return m;
    }

    private double[] vector(String name) {
        float[] f = st.get(name).toFloatArray();
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    private static double[] mul(double[][] w, double[] x) {
        double[] y = new double[w.length];
        for (int i = 0; i < w.length; i++) {
            double s = 0;
            for (int j = 0; j < x.length; j++) {
                s += w[i][j] * x[j];
            }
            y[i] = s;
        }
        return y;
    }

    private double[] norm(double[] x, double[] w) {
        double ss = 0;
        for (double v : x) {
            ss += v * v;
        }
        double inv = 1 / Math.sqrt(ss / x.length + c.rmsNormEps());
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = x[i] * inv * w[i];
        }
        return y;
    }

    private double[] frequencies() {
        int dim = c.qkRopeHeadDim();
        double[] f = new double[dim / 2];
        for (int i = 0; i < f.length; i++) {
            f[i] = 1 / Math.pow(c.ropeTheta(), 2.0 * i / dim);
        }
        if (c.yarnActive()) {
            ModelConfig.Yarn y = c.yarn();
            double lowDim = dim * Math.log(y.originalMaxPositions() / (y.betaFast() * 2 * Math.PI)) / (2 * Math.log(c.ropeTheta()));
            double highDim = dim * Math.log(y.originalMaxPositions() / (y.betaSlow() * 2 * Math.PI)) / (2 * Math.log(c.ropeTheta()));
            int low = Math.max(0, (int) Math.floor(lowDim));
            int high = Math.min(dim - 1, (int) Math.ceil(highDim));
            for (int i = 0; i < f.length; i++) {
                double ramp = Math.min(1, Math.max(0, (i - low) / (high == low ? 0.001 : high - low)));
                f[i] = f[i] / y.factor() * ramp + f[i] * (1 - ramp);
            }
        }
        return f;
    }

    private static void rotate(double[] x, int offset, int pos, double[] freq) {
        for (int i = 0; i < freq.length; i++) {
            double a = x[offset + 2 * i];
            double b = x[offset + 2 * i + 1];
            double cos = Math.cos(pos * freq[i]);
            double sin = Math.sin(pos * freq[i]);
            x[offset + 2 * i] = a * cos - b * sin;
            x[offset + 2 * i + 1] = a * sin + b * cos;
        }
    }

    private double[] mlp(String p, double[] x) {
        double[] g = mul(matrix(p + ".gate_proj"), x);
        double[] u = mul(matrix(p + ".up_proj"), x);
        for (int i = 0; i < g.length; i++) {
            g[i] = g[i] / (1 + Math.exp(-g[i])) * u[i];
        }
        return mul(matrix(p + ".down_proj"), g);
    }

    private double[] moe(String p, double[] x) {
        double[] logits = mul(matrix(p + ".gate"), x);
        int e = logits.length;
        double[] score = new double[e];
        if (c.scoringFunc() == ModelConfig.ScoringFunc.SOFTMAX) {
            double max = Arrays.stream(logits).max().orElseThrow();
            double sum = 0;
            for (int i = 0; i < e; i++) {
                score[i] = Math.exp(logits[i] - max);
                sum += score[i];
            }
            for (int i = 0; i < e; i++) {
                score[i] /= sum;
            }
        } else {
            for (int i = 0; i < e; i++) {
                score[i] = 1 / (1 + Math.exp(-logits[i]));
            }
        }
        boolean biased = st.contains(p + ".gate.e_score_correction_bias");
        double[] choice = score.clone();
        if (biased) {
            double[] bias = vector(p + ".gate.e_score_correction_bias");
            for (int i = 0; i < e; i++) {
                choice[i] += bias[i];
            }
        }
        if (c.groups() > 1 && c.topkMethod() != ModelConfig.TopkMethod.GREEDY) {
            int per = e / c.groups();
            Integer[] groups = new Integer[c.groups()];
            double[] gs = new double[c.groups()];
            for (int g = 0; g < c.groups(); g++) {
                groups[g] = g;
                double[] part = Arrays.copyOfRange(choice, g * per, (g + 1) * per);
                Arrays.sort(part);
                gs[g] = biased ? part[per - 1] + part[per - 2] : part[per - 1];
            }
            Arrays.sort(groups, (a, b) -> Double.compare(gs[b], gs[a]));
            for (int j = c.topkGroups(); j < c.groups(); j++) {
                Arrays.fill(choice, groups[j] * per, (groups[j] + 1) * per, Double.NEGATIVE_INFINITY);
            }
        }
        Integer[] order = new Integer[e];
        for (int i = 0; i < e; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Double.compare(choice[b], choice[a]));
        double sum = 0;
        for (int j = 0; j < c.expertsPerToken(); j++) {
            sum += score[order[j]];
        }
        boolean normalise = c.scoringFunc() == ModelConfig.ScoringFunc.SIGMOID || c.normTopkProb();
        double[] y = c.sharedExperts() > 0 ? mlp(p + ".shared_experts", x) : new double[x.length];
        for (int j = 0; j < c.expertsPerToken(); j++) {
            double w = (normalise ? score[order[j]] / sum : score[order[j]]) * c.routedScalingFactor();
            double[] out = mlp(p + ".experts." + order[j], x);
            for (int i = 0; i < y.length; i++) {
                y[i] += w * out[i];
            }
        }
        return y;
    }

    /** Logits after the last of {@code tokens}, all processed as one causal prompt. */
    double[] logits(int[] tokens) {
        int t = tokens.length;
        int h = c.heads();
        int nope = c.qkNopeHeadDim();
        int rope = c.qkRopeHeadDim();
        int lora = c.kvLoraRank();
        int vdim = c.vHeadDim();
        double[] freq = frequencies();
        double scale = c.softmaxScale();
        double[][] x = new double[t][];
        double[][] embed = matrix("model.embed_tokens");
        for (int i = 0; i < t; i++) {
            x[i] = embed[tokens[i]].clone();
        }
        for (int l = 0; l < c.layers(); l++) {
            String p = "model.layers." + l;
            double[] attnNorm = vector(p + ".input_layernorm.weight");
            double[][] kvB = matrix(p + ".self_attn.kv_b_proj");
            double[][] q = new double[t][];
            double[][] k = new double[t][h * (nope + rope)];
            double[][] v = new double[t][h * vdim];
            for (int i = 0; i < t; i++) {
                double[] xn = norm(x[i], attnNorm);
                q[i] = c.qLoraRank() > 0
                        ? mul(matrix(p + ".self_attn.q_b_proj"), norm(mul(matrix(p + ".self_attn.q_a_proj"), xn),
                                vector(p + ".self_attn.q_a_layernorm.weight")))
                        : mul(matrix(p + ".self_attn.q_proj"), xn);
                double[] kv = mul(matrix(p + ".self_attn.kv_a_proj_with_mqa"), xn);
                double[] latent = norm(Arrays.copyOf(kv, lora), vector(p + ".self_attn.kv_a_layernorm.weight"));
                double[] pe = Arrays.copyOfRange(kv, lora, lora + rope);
                rotate(pe, 0, i, freq);
                double[] expanded = mul(kvB, latent);
                for (int head = 0; head < h; head++) {
                    rotate(q[i], head * (nope + rope) + nope, i, freq);
                    System.arraycopy(expanded, head * (nope + vdim), k[i], head * (nope + rope), nope);
                    System.arraycopy(pe, 0, k[i], head * (nope + rope) + nope, rope);
                    System.arraycopy(expanded, head * (nope + vdim) + nope, v[i], head * vdim, vdim);
                }
            }
            double[][] wo = matrix(p + ".self_attn.o_proj");
            double[] ffnNorm = vector(p + ".post_attention_layernorm.weight");
            for (int i = 0; i < t; i++) {
                double[] heads = new double[h * vdim];
                for (int head = 0; head < h; head++) {
                    double[] s = new double[i + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j <= i; j++) {
                        double dot = 0;
                        for (int d = 0; d < nope + rope; d++) {
                            dot += q[i][head * (nope + rope) + d] * k[j][head * (nope + rope) + d];
                        }
                        s[j] = dot * scale;
                        max = Math.max(max, s[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j <= i; j++) {
                        s[j] = Math.exp(s[j] - max);
                        sum += s[j];
                    }
                    for (int j = 0; j <= i; j++) {
                        for (int d = 0; d < vdim; d++) {
                            heads[head * vdim + d] += s[j] / sum * v[j][head * vdim + d];
                        }
                    }
                }
                double[] o = mul(wo, heads);
                for (int d = 0; d < o.length; d++) {
                    x[i][d] += o[d];
                }
            }
            for (int i = 0; i < t; i++) {
                double[] xn = norm(x[i], ffnNorm);
                double[] f = c.isMoeLayer(l) ? moe(p + ".mlp", xn) : mlp(p + ".mlp", xn);
                for (int d = 0; d < f.length; d++) {
                    x[i][d] += f[d];
                }
            }
        }
        return mul(matrix("lm_head"), norm(x[t - 1], vector("model.norm.weight")));
    }
}
