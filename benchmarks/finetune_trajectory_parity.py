"""Ours vs Hugging Face, step by step, on the real fine-tuning run.

A diagnostic for `finetune_compare.py`: the real all-MiniLM-L6-v2 weights,
the Rotten Tomatoes training split of `finetune_data.py`, the same
tokenization (Hugging Face `tokenizers` ids fed to both sides), the same
classifier head weights, the same batches in the same order, dropout off
on both sides, and the paper's recipe on both sides: our
`create_finetune_optimizer` vs `torch.optim.AdamW` with transformers'
`get_linear_schedule_with_warmup` (lr 5e-5, 10% warmup, weight decay 0.01
except LayerNorm/bias, epsilon 1e-6, clipping 1.0). With no randomness
left, the two loss curves must agree up to float round-off growing through
the updates. Prints the loss of every 4th update on both sides and one JSON
line.

`--keras-adamw` uses Keras' stock `AdamW` instead of ours to show what the
placement of epsilon costs. Without it the two runs separate from the
first updates on; with it they agree to float round-off until, near the
peak rate, round-off is amplified and the runs drift apart as any two
runs do (the losses then differ without one trailing the other). Numbers:
`results/finetune_trajectory.jsonl`, and the README's fine-tuning section.

    python benchmarks/finetune_trajectory_parity.py [--steps 64]

Needs the `bench` extra (torch 2.13.0 CPU, transformers); the torch side
runs in a subprocess (`$KBI_TORCH_PYTHON`, default this interpreter).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from finetune_hf import epoch_order  # noqa: E402
from finetune_hf import read_split  # noqa: E402

from keras_bert_impl import assets  # noqa: E402

BATCH, MAX_LEN, EPOCHS, LR = 32, 48, 2, 5e-5

HF_SIDE = r"""
import json, sys
import numpy as np, torch
from transformers import BertForSequenceClassification
from transformers import get_linear_schedule_with_warmup
torch.set_num_threads(2)
folder, steps, total, warmup = sys.argv[1], *map(int, sys.argv[2:5])
d = np.load(folder + "/batches.npz")
m = BertForSequenceClassification.from_pretrained(
    folder, num_labels=2, classifier_dropout=0.0)
with torch.no_grad():
    m.classifier.weight.copy_(torch.from_numpy(d["head"]))
    m.classifier.bias.zero_()
nd = ("bias", "LayerNorm.weight")
named = list(m.named_parameters())
opt = torch.optim.AdamW([
    {"params": [p for n, p in named if not any(k in n for k in nd)],
     "weight_decay": 0.01},
    {"params": [p for n, p in named if any(k in n for k in nd)],
     "weight_decay": 0.0}], lr=float(sys.argv[5]), eps=1e-6)
sched = get_linear_schedule_with_warmup(opt, warmup, total)
m.train()
losses = []
for s in range(steps):
    rows = d["batches"][s]
    rows = torch.from_numpy(rows[rows >= 0]).long()
    ids = torch.from_numpy(d["ids"]).long()[rows]
    out = m(input_ids=ids,
            attention_mask=torch.from_numpy(d["mask"]).long()[rows],
            token_type_ids=torch.zeros_like(ids),
            labels=torch.from_numpy(d["labels"]).long()[rows])
    out.loss.backward()
    torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
    opt.step(); sched.step(); opt.zero_grad()
    losses.append(float(out.loss.detach()))
print(json.dumps(losses))
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=64)
    parser.add_argument(
        "--keras-adamw",
        action="store_true",
        help="use keras.optimizers.AdamW (epsilon on the uncorrected moment)",
    )
    args = parser.parse_args()

    from tokenizers import BertWordPieceTokenizer

    model_dir = str(assets.asset_path(assets.MINILM, assets.MINILM_DIR))
    folder = tempfile.mkdtemp()
    with open(os.path.join(model_dir, "config.json")) as f:
        config = json.load(f)
    config["hidden_dropout_prob"] = 0.0
    config["attention_probs_dropout_prob"] = 0.0
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f)
    for name in ("model.safetensors", "vocab.txt"):
        os.symlink(os.path.join(model_dir, name), os.path.join(folder, name))

    tok = BertWordPieceTokenizer(
        os.path.join(model_dir, "vocab.txt"), lowercase=True
    )
    tok.enable_truncation(MAX_LEN)
    tok.enable_padding(length=MAX_LEN)
    texts, label_names = read_split("rt", "train")
    names = sorted(set(label_names))
    encoded = tok.encode_batch(texts)
    ids = np.array([e.ids for e in encoded], "int32")
    mask = np.array([e.attention_mask for e in encoded], "int32")
    labels = np.array([names.index(y) for y in label_names], "int32")
    n = len(texts)
    batches = [
        order[b : b + BATCH]
        for order in (epoch_order(n, e, 0) for e in range(EPOCHS))
        for b in range(0, n, BATCH)
    ]  # a partial last batch each epoch, as finetune_hf.py
    total = len(batches)
    steps = min(args.steps, total)
    padded = np.full((total, BATCH), -1, "int64")
    for i, rows in enumerate(batches):
        padded[i, : len(rows)] = rows
    head = (np.random.RandomState(0).randn(2, 384) * 0.02).astype("float32")
    np.savez(
        os.path.join(folder, "batches.npz"),
        ids=ids, mask=mask, labels=labels, batches=padded, head=head,
    )  # fmt: skip

    import keras

    from keras_bert_impl.checkpoints.resolve import load_encoder
    from keras_bert_impl.models import BertClassifier
    from keras_bert_impl.optimizers import DECAY_EXCLUDED_NAMES
    from keras_bert_impl.training.finetune import create_finetune_optimizer
    from keras_bert_impl.training.finetune import warmup_steps_for

    warmup = warmup_steps_for(total, 0.1)
    torch_python = os.environ.get("KBI_TORCH_PYTHON", sys.executable)
    run = subprocess.run(
        [torch_python, "-c", HF_SIDE, folder, str(steps), str(total),
         str(warmup), str(LR)],
        capture_output=True, text=True,
    )  # fmt: skip
    if run.returncode:
        sys.exit(f"the Hugging Face side failed:\n{run.stderr[-3000:]}")
    hf = json.loads(run.stdout.strip().splitlines()[-1])

    keras.utils.set_random_seed(0)
    model = BertClassifier(load_encoder(folder), num_classes=2, dropout=0.0)
    model.get_layer("logits").set_weights([head.T, np.zeros(2, "float32")])
    optimizer = create_finetune_optimizer(total_steps=total, learning_rate=LR)
    if args.keras_adamw:
        stock = keras.optimizers.AdamW.from_config(optimizer.get_config())
        stock.exclude_from_weight_decay(var_names=list(DECAY_EXCLUDED_NAMES))
        optimizer = stock
    model.compile(optimizer=optimizer)
    ours = []
    for s in range(steps):
        rows = padded[s][padded[s] >= 0]
        x = {
            "token_ids": ids[rows],
            "segment_ids": np.zeros_like(ids[rows]),
            "padding_mask": mask[rows],
        }
        logs = model.train_on_batch(x, labels[rows], return_dict=True)
        ours.append(float(logs["loss"]))
    for s in range(0, steps, 4):
        print(f"update {s:3d}  ours {ours[s]:.5f}  hf {hf[s]:.5f}")
    diff = np.abs(np.array(ours) - np.array(hf))
    result = {
        "optimizer": type(optimizer).__module__
        + "."
        + type(optimizer).__name__,
        "steps": steps,
        "total_steps": total,
        "warmup_steps": warmup,
        "max_abs_loss_diff": float(diff.max()),
        "max_abs_loss_diff_by_update": {
            str(k): float(diff[:k].max())
            for k in (10, 20, 30, 40)
            if k <= steps
        },
        "last10_loss_ours": float(np.mean(ours[-10:])),
        "last10_loss_hf": float(np.mean(hf[-10:])),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
