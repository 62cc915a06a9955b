"""Runs DeepSeek's own inference/model.py (from a checkout the user points at) on a Hugging Face
checkpoint and prints decode and prefill tokens per second as JSON: the peer of `flyer bench serve`.

Flyer's code, not DeepSeek's: it loads the HF safetensors itself, renames tensors the way DeepSeek's
convert.py documents, stubs kernel.py (triton) with plain-torch weight dequantisation, shims
F.rms_norm for older PyTorch, and times model.forward. Usage:
  python3 model_py_peer.py --inference DIR --checkpoint DIR [--prompt-len 64] [--steps 16] [--threads N]
"""
import argparse, json, math, os, struct, sys, time, types

import torch
import torch.nn.functional as F

RENAME = {"embed_tokens": "embed", "input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm",
          "q_proj": "wq", "q_a_proj": "wq_a", "q_a_layernorm": "q_norm", "q_b_proj": "wq_b",
          "kv_a_proj_with_mqa": "wkv_a", "kv_a_layernorm": "kv_norm", "kv_b_proj": "wkv_b", "o_proj": "wo",
          "gate_proj": "w1", "down_proj": "w2", "up_proj": "w3", "lm_head": "head",
          "e_score_correction_bias": "bias", "weight_scale_inv": "scale", "self_attn": "attn", "mlp": "ffn"}
DTYPES = {"BF16": torch.bfloat16, "F32": torch.float32, "F16": torch.float16}


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        a, b = meta["data_offsets"]
        raw = bytearray(data[a:b])
        if meta["dtype"] == "F8_E4M3":
            t = torch.frombuffer(raw, dtype=torch.uint8).reshape(meta["shape"])
            out[name] = ("fp8", t)
        else:
            out[name] = torch.frombuffer(raw, dtype=DTYPES[meta["dtype"]]).reshape(meta["shape"]).clone()
    return out


def e4m3_table():
    vals = []
    for c in range(256):
        s = -1.0 if c & 0x80 else 1.0
        e, m = (c >> 3) & 0xF, c & 7
        vals.append(float("nan") if (e == 15 and m == 7) else s * ((m / 8) * 2 ** -6 if e == 0 else (1 + m / 8) * 2 ** (e - 7)))
    return torch.tensor(vals, dtype=torch.float32)


def stub_kernel():
    table = e4m3_table()
    k = types.ModuleType("kernel")

    def weight_dequant(w, s, block_size=128):
        codes = w if w.dtype == torch.uint8 else w.view(torch.uint8)
        v = table[codes.long()]
        rows, cols = v.shape
        s = s.float().repeat_interleave(block_size, 0)[:rows].repeat_interleave(block_size, 1)[:, :cols]
        return (v * s).to(torch.get_default_dtype())

    def unsupported(*args, **kwargs):
        raise RuntimeError("the fp8 gemm_impl needs triton; this peer runs model.py's default bf16 path")

    k.weight_dequant, k.act_quant, k.fp8_gemm = weight_dequant, unsupported, unsupported
    sys.modules["kernel"] = k


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--inference", required=True)
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--prompt-len", type=int, default=64)
    p.add_argument("--steps", type=int, default=16)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    if not hasattr(F, "rms_norm"):
        F.rms_norm = lambda x, shape, w, eps: (x.float() * torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + eps)).type_as(x) * w
    stub_kernel()
    sys.path.insert(0, a.inference)
    import model as m
    cfg = json.load(open(os.path.join(a.checkpoint, "config.json")))
    rope = cfg.get("rope_scaling") or {}
    args = m.ModelArgs(max_batch_size=1, max_seq_len=min(cfg["max_position_embeddings"], a.prompt_len + a.steps + 8),
                       vocab_size=cfg["vocab_size"], dim=cfg["hidden_size"], inter_dim=cfg["intermediate_size"],
                       moe_inter_dim=cfg["moe_intermediate_size"], n_layers=cfg["num_hidden_layers"],
                       n_dense_layers=cfg["first_k_dense_replace"], n_heads=cfg["num_attention_heads"],
                       n_routed_experts=cfg["n_routed_experts"], n_shared_experts=cfg["n_shared_experts"],
                       n_activated_experts=cfg["num_experts_per_tok"], n_expert_groups=cfg.get("n_group", 1),
                       n_limited_groups=cfg.get("topk_group", 1), score_func=cfg.get("scoring_func", "softmax"),
                       route_scale=cfg.get("routed_scaling_factor", 1.0), q_lora_rank=cfg.get("q_lora_rank") or 0,
                       kv_lora_rank=cfg["kv_lora_rank"], qk_nope_head_dim=cfg["qk_nope_head_dim"],
                       qk_rope_head_dim=cfg["qk_rope_head_dim"], v_head_dim=cfg["v_head_dim"],
                       original_seq_len=rope.get("original_max_position_embeddings", 4096),
                       rope_theta=cfg.get("rope_theta", 10000.0), rope_factor=rope.get("factor", 1),
                       beta_fast=rope.get("beta_fast", 32), beta_slow=rope.get("beta_slow", 1),
                       mscale=rope.get("mscale_all_dim", 1.0),
                       dtype="fp8" if "quantization_config" in cfg else "bf16")
    torch.set_default_dtype(torch.bfloat16)
    model = m.Transformer(args)
    state = {}
    for f in sorted(os.listdir(a.checkpoint)):
        if f.endswith(".safetensors"):
            state.update(read_safetensors(os.path.join(a.checkpoint, f)))
    params = dict(model.named_parameters())
    for name, t in state.items():
        parts = [RENAME.get(x, x) for x in name.split(".") if x != "model"]
        key = ".".join(parts)
        if isinstance(t, tuple):
            t = t[1].view(torch.float8_e4m3fn) if hasattr(torch, "float8_e4m3fn") else t[1]
        if key.endswith(".gate.bias") and key not in params:
            gate = model.get_submodule(key[: -len(".bias")])
            gate.bias = torch.nn.Parameter(t.float(), requires_grad=False)
            continue
        target = params[key]
        with torch.no_grad():
            if target.dtype != t.dtype:
                target.data = t.clone()
            else:
                target.copy_(t)
    prompt = torch.randint(2, args.vocab_size, (1, a.prompt_len))
    with torch.inference_mode():
        t0 = time.perf_counter()
        logits = model(prompt, 0)
        prefill = a.prompt_len / (time.perf_counter() - t0)
        t1 = time.perf_counter()
        pos = a.prompt_len
        for _ in range(a.steps):
            nxt = logits.argmax(-1, keepdim=True)
            logits = model(nxt, pos)
            pos += 1
        decode = a.steps / (time.perf_counter() - t1)
    print(json.dumps({"decode_tok_s": decode, "prefill_tok_s": prefill, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
