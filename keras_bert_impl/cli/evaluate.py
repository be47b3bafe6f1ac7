"""`keras-bert-impl evaluate`: metrics of a fine-tuned model on files."""

import argparse

from keras_bert_impl.cli import HelpFormatter


def register(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "evaluate",
        help="metrics of a fine-tuned task model on labelled files",
        description=(
            "Evaluate a `keras-bert-impl finetune` run folder on labelled "
            "files read as training read them (same columns, sequence "
            "length, tokenizer and label map; a label the model does not "
            "know is an error). Prints accuracy and macro F1 (classify, "
            "pair), accuracy (choice), Pearson / Spearman / MSE (regress), "
            "entity-level precision / recall / F1 (ner) or exact match / F1 "
            "(squad), and writes them as JSON with --output."
        ),
        formatter_class=HelpFormatter,
    )
    parser.add_argument(
        "--model",
        required=True,
        help="run folder of `finetune --output`, or a task checkpoint "
        "(a Hugging Face or TF1 folder with a task head)",
    )
    parser.add_argument(
        "--data",
        action="append",
        required=True,
        metavar="GLOB",
        help="labelled files; repeatable",
    )
    parser.add_argument("--output", help="also write the metrics here (JSON)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)
    return parser


def run(args) -> int:
    from keras_bert_impl import run_files
    from keras_bert_impl.training.evaluate import evaluate_model
    from keras_bert_impl.training.finetune import load_for_inference

    model, tokenizer, config = load_for_inference(args.model)
    if config is None:
        raise ValueError(
            f"--model {args.model!r} is an encoder without a task head: it "
            "has no labels to score. Fine-tune it first (`keras-bert-impl "
            f"finetune --init {args.model} ...`), or pass a task model."
        )
    results = evaluate_model(
        config, model, tokenizer, list(args.data), progress=not args.quiet
    )
    for key, value in sorted(results.items()):
        if isinstance(value, float):
            print(f"{key}: {value:.4f}")
        elif isinstance(value, int):
            print(f"{key}: {value}")
    if args.output:
        from keras_bert_impl.paths import prepare_output

        run_files.write_json(prepare_output(args.output, "--output"), results)
    return 0
