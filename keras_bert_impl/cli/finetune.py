"""`keras-bert-impl finetune`: fine-tune a task model with model.fit."""

import argparse

from keras_bert_impl.cli import HelpFormatter
from keras_bert_impl.cli import add_jit_options
from keras_bert_impl.cli._tasks import RECIPE_DEFAULTS
from keras_bert_impl.cli._tasks import TASKS

_INIT_HELP = (
    "starting weights: a Hugging Face folder (config.json + "
    "model.safetensors), an original TF1 checkpoint (folder or prefix), a "
    "`keras-bert-impl pretrain` run folder, or a preset name (tiny, mini, "
    "small, medium, base, large: random weights, needs --vocab)"
)


def register(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "finetune",
        help="fine-tune a task model (classify, pair, regress, ner, squad, "
        "choice)",
        description=(
            "Fine-tune BERT on labelled CSV / TSV / JSON Lines files with the "
            "paper's recipe (AdamW, weight decay 0.01, 10% warmup then "
            "linear decay, dropout 0.1) and model.fit: a progress bar, "
            "TensorBoard scalars in OUTPUT/logs, the task model in "
            "OUTPUT/model.keras, its vocab.txt and the resolved "
            "configuration in OUTPUT/finetune_config.json, and the --eval "
            "metrics in OUTPUT/eval_results.json. Then `keras-bert-impl "
            "evaluate --model OUTPUT` and `keras-bert-impl predict --model "
            "OUTPUT`."
        ),
        formatter_class=HelpFormatter,
    )
    add = parser.add_argument
    add(
        "--task",
        required=True,
        metavar="{" + ",".join(TASKS) + "}",
        help="classify: one text -> label; pair: two texts -> label; "
        "regress: (one or two texts) -> number (STS-B); ner: words -> "
        "BIO tags; squad: SQuAD v1.1/v2.0 JSON -> answer spans; choice: "
        "SWAG-style multiple choice",
    )
    add(
        "--train",
        action="append",
        required=True,
        metavar="GLOB",
        help="training files (CSV/TSV/JSONL; CoNLL or People's Daily for "
        "ner; SQuAD JSON for squad); repeatable",
    )
    add(
        "--eval",
        action="append",
        metavar="GLOB",
        help="held-out files: validation each epoch and metrics at the end",
    )
    add("--init", required=True, help=_INIT_HELP)
    add("--output", required=True, help="run folder to write (created)")
    add(
        "--vocab",
        help="vocab.txt (default: the one beside the --init checkpoint)",
    )
    add(
        "--no-lower-case",
        dest="lower_case",
        action="store_const",
        const=False,
        default=None,
        help="cased tokenizer (for cased vocabularies; default: the casing "
        "of a --init pretraining run, else lower-cased)",
    )
    add(
        "--epochs",
        type=int,
        default=RECIPE_DEFAULTS["epochs"],
        help="passes over the training files (the paper: 2 to 4)",
    )
    add(
        "--batch-size",
        type=int,
        default=RECIPE_DEFAULTS["batch_size"],
        help="examples per update (the paper: 16 or 32)",
    )
    add(
        "--learning-rate",
        type=float,
        default=RECIPE_DEFAULTS["learning_rate"],
        help="peak rate (the paper: 2e-5 to 5e-5)",
    )
    add(
        "--warmup-ratio",
        type=float,
        default=RECIPE_DEFAULTS["warmup_ratio"],
        help="fraction of the updates with linear warmup; then linear "
        "decay to 0",
    )
    add(
        "--weight-decay",
        type=float,
        default=RECIPE_DEFAULTS["weight_decay"],
        help="decoupled weight decay (not on LayerNorm or bias)",
    )
    add(
        "--dropout",
        type=float,
        default=RECIPE_DEFAULTS["dropout"],
        help="dropout of the task head",
    )
    add(
        "--max-seq-length",
        type=int,
        default=RECIPE_DEFAULTS["max_seq_length"],
        help="tokens per example, special tokens included; at most the "
        "model's positions",
    )
    add("--seed", type=int, default=0, help="shuffling and head init")
    add(
        "--text-column",
        help="text column (default: text, sentence, sentence1, question or "
        "premise)",
    )
    add(
        "--text-pair-column",
        help="second text column (default: text_pair, sentence2 or hypothesis)",
    )
    add("--label-column", default="label", help="label column")
    add(
        "--format",
        dest="file_format",
        default="auto",
        help="file format: auto (from the names), csv, tsv, jsonl; for ner "
        "also conll, peoples_daily",
    )
    add("--doc-stride", type=int, default=128, help="squad: window stride")
    add(
        "--max-query-length",
        type=int,
        default=64,
        help="squad: question pieces kept",
    )
    add(
        "--dtype",
        choices=("float32", "mixed_bfloat16", "mixed_float16"),
        default="float32",
        help="compute precision (LayerNorm and softmax stay float32)",
    )
    add_jit_options(add)
    add(
        "--overwrite",
        action="store_true",
        help="replace an existing OUTPUT/model.keras",
    )
    add(
        "--quiet",
        action="store_true",
        help="one line per epoch instead of the progress bar",
    )
    parser.set_defaults(func=run)
    return parser


def run(args) -> int:
    import os

    from keras_bert_impl.cli import _runner
    from keras_bert_impl.cli._tasks import check_task

    check_task(args.task)
    results = _runner.finetune_from_args(args)
    for key, value in sorted(results.items()):
        if isinstance(value, float):
            print(f"{key}: {value:.4f}")
    print(f"model: {os.path.join(args.output, 'model.keras')}")
    print(f"tensorboard --logdir {os.path.join(args.output, 'logs')}")
    return 0
