"""`keras-bert-impl predict`: predictions of a fine-tuned model on text."""

import argparse
import json
import sys

from keras_bert_impl.cli import HelpFormatter


def register(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "predict",
        help="predict with a fine-tuned task model or an exported SavedModel",
        description=(
            "Read texts (arguments, or --input: a CSV / TSV / JSON Lines "
            "file with the training columns, or plain text, one example per "
            "line) and print one JSON object per example (the label and its "
            "probabilities; the score for regress; words, tags and entity "
            "character spans for ner), or write them as JSON Lines to "
            "--output. With --savedmodel, run an export of `keras-bert-impl "
            "export` (savedmodels/<name>/<version>) instead of a run folder."
        ),
        formatter_class=HelpFormatter,
    )
    parser.add_argument("texts", nargs="*", help="texts to predict")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--model",
        help="run folder of `finetune --output`, or a checkpoint folder (a "
        "task head predicts its task; an encoder gives sentence embeddings, "
        "pooled as its sentence-transformers config says, else mean)",
    )
    source.add_argument(
        "--savedmodel",
        help="a SavedModel version folder written by `keras-bert-impl export`",
    )
    parser.add_argument(
        "--text-pair",
        action="append",
        metavar="TEXT",
        help="second text of each positional text (pair tasks); repeat "
        "once per text",
    )
    parser.add_argument(
        "--input",
        help="file of examples: .csv/.tsv/.jsonl with the training columns "
        "(a label column, if present, must hold known labels), or a .txt "
        "file with one text per line",
    )
    parser.add_argument("--output", help="write JSON Lines here")
    parser.add_argument(
        "--batch-size", type=int, default=32, help="examples per batch"
    )
    parser.set_defaults(func=run)
    return parser


def run(args) -> int:
    if args.texts and args.input:
        raise ValueError(
            "Pass texts as arguments or --input, not both. Received: "
            f"{len(args.texts)} texts and --input {args.input!r}"
        )
    if not args.texts and not args.input:
        raise ValueError("Nothing to predict: pass texts or --input FILE.")
    if args.text_pair is not None and len(args.text_pair) != len(args.texts):
        raise ValueError(
            "--text-pair must be given once per text. Received: "
            f"{len(args.texts)} texts and {len(args.text_pair)} --text-pair"
        )
    if args.batch_size < 1:
        raise ValueError(
            f"--batch-size must be positive. Received: {args.batch_size}"
        )
    if args.output:
        from keras_bert_impl.paths import prepare_output

        prepare_output(args.output, "--output")  # before any work
    if args.savedmodel:
        rows = _predict_savedmodel(args)
    else:
        from keras_bert_impl.training import evaluate
        from keras_bert_impl.training.finetune import load_for_inference

        model, tokenizer, config = load_for_inference(args.model)
        if config is None:  # a bare encoder: sentence embeddings
            texts, _ = (
                _read_plain_or_table(args.input)
                if args.input
                else (list(args.texts), None)
            )
            recipe = evaluate.embedding_recipe(args.model)
            vectors = evaluate.embed_texts(
                model, tokenizer, texts, recipe["pooling"],
                recipe["normalize"], recipe["max_seq_length"],
                args.batch_size,
            )  # fmt: skip
            rows = [
                {"text": t, "embedding": v.round(6).tolist()}
                for t, v in zip(texts, vectors, strict=True)
            ]
        elif args.input:
            rows = evaluate.predict_file(
                config, model, tokenizer, args.input, args.batch_size
            )
        else:
            rows = evaluate.predict_texts(
                config, model, tokenizer, list(args.texts), args.text_pair,
                args.batch_size,
            )  # fmt: skip
    out = open(args.output, "w", encoding="utf-8") if args.output else None
    try:
        for row in rows:
            line = json.dumps(row, ensure_ascii=False)
            print(line, file=out or sys.stdout)
    finally:
        if out is not None:
            out.close()
    if args.output:
        print(f"wrote {len(rows)} predictions to {args.output}")
    return 0


def _predict_savedmodel(args):
    """`predict --savedmodel`: the rows of `export.predict.predict_rows`."""
    from keras_bert_impl.export.predict import predict_rows

    texts, pairs = args.texts, args.text_pair
    if args.input:
        texts, pairs = _read_plain_or_table(args.input)
    return predict_rows(args.savedmodel, texts, pairs, args.batch_size)


def _read_plain_or_table(path):
    """(texts, pairs or None) of a .txt (one per line) or table file."""
    if path.endswith(".txt"):
        with open(path, encoding="utf-8") as f:
            texts = [line.rstrip("\n") for line in f if line.strip()]
        return texts, None
    from keras_bert_impl.data.classification import read_classification

    examples = read_classification(path, label_column=None)
    return examples.texts, examples.pairs
