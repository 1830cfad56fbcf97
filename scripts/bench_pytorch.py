#!/usr/bin/env python3
"""PyTorch reference for `relbert bench embed`: the same pairs, template a, batch, threads.

Run by `relbert bench embed --pytorch-python PY` (needs torch and transformers; never in CI).
Prints one JSON object: {"pairs_per_s": ..., "threads": ..., "padded_tokens": ...}.
"""
import argparse, json, time

TEMPLATE_A = "Today, I finally discovered the relation between <subj> and <obj> : <subj> is the <mask> of <obj>"

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--pairs", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--mode", choices=["embed", "train"], default="embed")
    args = ap.parse_args()
    if args.mode == "train":
        return train(args)

    import torch
    from transformers import AutoModel, AutoTokenizer
    torch.set_num_threads(args.threads)
    tok = AutoTokenizer.from_pretrained(args.model)
    model = AutoModel.from_pretrained(args.model).eval()
    pairs = [l.rstrip("\n").split("\t") for l in open(args.pairs, encoding="utf-8") if l.strip()]
    batches = []
    for b in range(max(1, len(pairs) // args.batch_size)):
        batch = [pairs[(b * args.batch_size + i) % len(pairs)] for i in range(args.batch_size)]
        batches.append([TEMPLATE_A.replace("<subj>", h).replace("<obj>", t).replace("<mask>", tok.mask_token) for h, t in batch])

    def embed(texts):
        enc = tok(texts, padding=True, truncation=True, max_length=64, return_tensors="pt")
        with torch.inference_mode():
            out = model(**enc).last_hidden_state
            keep = enc["attention_mask"] * (enc["input_ids"] != tok.mask_token_id)
            emb = (out * keep.unsqueeze(-1)).sum(1) / keep.sum(1, keepdim=True)
        return emb, enc["input_ids"].shape[1]

    embed(batches[0])  # warm-up
    done, i, start = 0, 0, time.perf_counter()
    padded = 0
    while True:
        _, padded = embed(batches[i % len(batches)])
        i += 1
        done += args.batch_size
        elapsed = time.perf_counter() - start
        if elapsed >= args.seconds:
            break
    print(json.dumps({"pairs_per_s": done / elapsed, "threads": args.threads, "padded_tokens": padded,
                      "torch": torch.__version__}))

def train(args):
    """One step of 96 sequences: 32 triplets (anchor i, positive i+32, negative i+64), template a,
    triplet loss (sum of relu(|a-p| - |a-n| + 1)), forward + backward + AdamW, dropout on (train mode)."""
    import torch
    from transformers import AutoModel, AutoTokenizer
    torch.set_num_threads(args.threads)
    tok = AutoTokenizer.from_pretrained(args.model)
    model = AutoModel.from_pretrained(args.model).train()
    pairs = [l.rstrip("\n").split("\t") for l in open(args.pairs, encoding="utf-8") if l.strip()]
    texts = [TEMPLATE_A.replace("<subj>", h).replace("<obj>", t).replace("<mask>", tok.mask_token) for h, t in pairs]
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5, weight_decay=0.01)

    def step():
        enc = tok(texts, padding=True, truncation=True, max_length=64, return_tensors="pt")
        out = model(**enc).last_hidden_state
        keep = (enc["attention_mask"] * (enc["input_ids"] != tok.mask_token_id)).unsqueeze(-1)
        emb = (out * keep).sum(1) / keep.sum(1)
        a, p, n = emb[:32], emb[32:64], emb[64:96]
        loss = torch.relu((a - p).norm(dim=1) - (a - n).norm(dim=1) + 1).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()

    step()
    steps, start = 0, time.perf_counter()
    while True:
        step()
        steps += 1
        elapsed = time.perf_counter() - start
        if elapsed >= args.seconds:
            break
    print(json.dumps({"sequences_per_s": steps * len(texts) / elapsed, "threads": args.threads,
                      "torch": torch.__version__}))

if __name__ == "__main__":
    main()
