"""Same weights, same batch, no dropout: our fine-tuning updates vs HF's.

A diagnostic for `finetune_compare.py`. Both sides start from the committed
tiny HF checkpoint (`tests/data/tiny_bert_for_pretraining`, dropout set to
0), the same classifier head weights and one fixed batch, and take 5 AdamW
steps (lr 1e-3, weight decay 0.01 except LayerNorm/bias, epsilon 1e-6,
clipping 1.0) at a constant rate. Prints the loss before each update on
both sides: equal first losses = same forward pass; close later losses =
same updates. (Measured: 1.1354 / 0.9361 / 0.7684 ours vs 1.1354 / 0.9353 /
0.7674 HF; the small drift is Adam's epsilon placement.)

Known schedule difference, not measured here: the package's
`WarmupLinearDecay` gives rate 0 at step 0 (rate * step / warmup, as the
original BERT code does); `finetune_hf.py`'s LambdaLR gives rate / warmup.

    PYTHONPATH=. python benchmarks/finetune_step_parity.py
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TINY = os.path.join(ROOT, "tests", "data", "tiny_bert_for_pretraining")
TORCH_PYTHON = os.environ.get("TORCH_PYTHON", "/work/venv/torchref/bin/python")
STEPS = 5

HF_CODE = r"""
import sys, json, numpy as np, torch
from transformers import BertForSequenceClassification
folder = sys.argv[1]
d = np.load(folder + "/batch.npz")
m = BertForSequenceClassification.from_pretrained(folder, num_labels=2)
with torch.no_grad():
    m.classifier.weight.copy_(torch.from_numpy(d["w"]))
    m.classifier.bias.zero_()
nd = ("bias", "LayerNorm.weight")
named = list(m.named_parameters())
groups = [
    {"params": [p for n, p in named if not any(k in n for k in nd)],
     "weight_decay": 0.01},
    {"params": [p for n, p in named if any(k in n for k in nd)],
     "weight_decay": 0.0},
]
opt = torch.optim.AdamW(groups, lr=1e-3, eps=1e-6)
ids = torch.from_numpy(d["ids"]).long()
y = torch.from_numpy(d["y"]).long()
m.train()
losses = []
for _ in range(int(sys.argv[2])):
    out = m(input_ids=ids, attention_mask=torch.ones_like(ids),
            token_type_ids=torch.zeros_like(ids), labels=y)
    out.loss.backward()
    torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
    opt.step()
    opt.zero_grad()
    losses.append(float(out.loss.detach()))
print(json.dumps(losses))
"""


def main(argv=None):
    argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    ).parse_args(argv)
    import keras

    from keras_bert_impl.checkpoints.resolve import load_encoder
    from keras_bert_impl.models import BertClassifier

    folder = tempfile.mkdtemp()
    with open(os.path.join(TINY, "config.json")) as f:
        config = json.load(f)
    config["hidden_dropout_prob"] = 0.0
    config["attention_probs_dropout_prob"] = 0.0
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f)
    os.symlink(
        os.path.join(TINY, "model.safetensors"),
        os.path.join(folder, "model.safetensors"),
    )
    rng = np.random.RandomState(0)
    ids = rng.randint(5, config["vocab_size"], (8, 12)).astype("int32")
    y = rng.randint(0, 2, (8,)).astype("int32")
    w = (rng.randn(2, config["hidden_size"]) * 0.5).astype("float32")
    np.savez(os.path.join(folder, "batch.npz"), ids=ids, y=y, w=w)

    hf = json.loads(
        subprocess.run(
            [TORCH_PYTHON, "-c", HF_CODE, folder, str(STEPS)],
            check=True, capture_output=True, text=True,
        ).stdout.strip().splitlines()[-1]
    )  # fmt: skip

    vocab = [f"t{i}" for i in range(config["vocab_size"])]
    model = BertClassifier(
        load_encoder(folder, vocab=vocab), num_classes=2, dropout=0.0
    )
    model.get_layer("logits").set_weights([w.T, np.zeros(2, "float32")])
    optimizer = keras.optimizers.AdamW(
        1e-3, weight_decay=0.01, epsilon=1e-6, global_clipnorm=1.0
    )
    from keras_bert_impl.optimizers import DECAY_EXCLUDED_NAMES

    optimizer.exclude_from_weight_decay(var_names=list(DECAY_EXCLUDED_NAMES))
    model.compile(optimizer=optimizer, jit_compile=False)
    x = {
        "token_ids": ids,
        "segment_ids": np.zeros_like(ids),
        "padding_mask": np.ones_like(ids),
    }
    ours = [
        float(model.train_on_batch(x, y, return_dict=True)["loss"])
        for _ in range(STEPS)
    ]
    for step, (a, b) in enumerate(zip(ours, hf, strict=True)):
        print(f"step {step}: ours {a:.6f}  hf {b:.6f}  diff {a - b:+.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
