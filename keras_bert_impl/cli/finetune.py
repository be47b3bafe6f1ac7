"""`keras-bert-impl finetune`: fine-tune a task model with model.fit.

The flags map one to one onto `FinetuneConfig` (`to_config`); the run is
`keras_bert_impl.training.finetune.run_finetuning`, the library's one
fine-tuning path. Which options a task reads comes from the task registry
(`keras_bert_impl.tasks`).
"""

import argparse

from keras_bert_impl.cli import HelpFormatter
from keras_bert_impl.cli import UsageError
from keras_bert_impl.cli import add_jit_options
from keras_bert_impl.tasks import OPTION_DEFAULTS
from keras_bert_impl.tasks import OPTION_FLAGS
from keras_bert_impl.tasks import TASKS
from keras_bert_impl.tasks import get_task

# The paper's recipe (section 4 and appendix A.3); FinetuneConfig's defaults
# (config.py-style plain values: the CLI does not import TensorFlow here).
RECIPE_DEFAULTS = {
    "epochs": 3,
    "batch_size": 32,
    "learning_rate": 3e-5,
    "warmup_ratio": 0.1,
    "weight_decay": 0.01,
    "dropout": 0.1,
    "max_seq_length": 128,
    "validation_freq": 1,
}
_INIT_HELP = (
    "starting weights: a Hugging Face folder (config.json + "
    "model.safetensors), an original TF1 checkpoint (folder or prefix), a "
    "`keras-bert-impl pretrain` run folder, or a preset name (tiny, mini, "
    "small, medium, base, large: random weights, needs --vocab)"
)
_OPTION_HELP = {
    "text_column": "text column (default: text, sentence, sentence1, "
    "question or premise)",
    "text_pair_column": "second text column (default: text_pair, sentence2 "
    "or hypothesis)",
    "label_column": "label column (default: label)",
    "file_format": "file format: auto (from the names), csv, tsv, jsonl; "
    "for ner conll or peoples_daily (default: auto)",
    "label_separator": "separator of the labels in a CSV/TSV cell "
    "(default: |; JSON Lines: a list)",
    "doc_stride": "window stride (default: 128)",
    "max_query_length": "question pieces kept (default: 64)",
}


def _tasks_using(option):
    return [t.name for t in TASKS.values() if option in t.options]


def register(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "finetune",
        help=f"fine-tune a task model ({', '.join(TASKS)})",
        description=(
            "Fine-tune BERT on labelled files with the paper's recipe "
            "(AdamW, weight decay 0.01, 10% warmup then linear decay, "
            "dropout 0.1) and model.fit. OUTPUT gets model.keras, best.keras, "
            "vocab.txt and tokenizer_config.json, finetune_config.json (the "
            "resolved configuration), eval_results.json (the --eval "
            "metrics) and TensorBoard events in train/ and validation/; it "
            "is built beside OUTPUT and swapped in when training ends, so an "
            "interrupted run leaves the old OUTPUT as it was. Then "
            "`keras-bert-impl evaluate --model OUTPUT` and `keras-bert-impl "
            "predict --model OUTPUT`."
        ),
        formatter_class=HelpFormatter,
    )
    add = parser.add_argument
    add(
        "--task",
        required=True,
        metavar="{" + ",".join(TASKS) + "}",
        help="; ".join(f"{t.name}: {t.summary}" for t in TASKS.values()),
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
        help="cased tokenizer (default: the casing stored with the --init "
        "vocabulary, else lower-cased)",
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
        "--encoder-dropout",
        type=float,
        help="the encoder's dropout and attention dropout (default: the "
        "--init checkpoint's)",
    )
    add(
        "--max-seq-length",
        type=int,
        default=RECIPE_DEFAULTS["max_seq_length"],
        help="tokens per example, special tokens included; at most the "
        "model's positions",
    )
    add(
        "--validation-freq",
        type=int,
        default=RECIPE_DEFAULTS["validation_freq"],
        help="evaluate on --eval every this many epochs (final metrics "
        "always after the last)",
    )
    add("--seed", type=int, default=0, help="shuffling and head init")
    for option, flag in OPTION_FLAGS.items():
        tasks = "/".join(_tasks_using(option))
        add(
            flag,
            dest=option,
            type=int if isinstance(OPTION_DEFAULTS[option], int) else str,
            default=None,
            help=f"{tasks}: {_OPTION_HELP[option]}",
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
        help="replace an existing OUTPUT (kept until the new run is done)",
    )
    add(
        "--quiet",
        action="store_true",
        help="one line per epoch instead of the progress bar",
    )
    parser.set_defaults(func=run)
    return parser


def to_config(args):
    """The `FinetuneConfig` of parsed arguments (the only flag mapping).

    Raises:
        UsageError: an option the task does not read (e.g. `--doc-stride`
            with `--task classify`).
    """
    from keras_bert_impl.training.finetune import FinetuneConfig

    task = get_task(args.task)
    options = {}
    for option, flag in OPTION_FLAGS.items():
        value = getattr(args, option)
        if value is None:
            continue
        if option not in task.options:
            users = ", ".join(_tasks_using(option))
            raise UsageError(
                f"{flag} is an option of --task {users}, not of --task "
                f"{task.name}: leave it out."
            )
        options[option] = value
    return FinetuneConfig(
        task=task.name,
        init=args.init,
        train=list(args.train),
        eval=list(args.eval) if args.eval else None,
        vocab=args.vocab,
        lower_case=args.lower_case,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        warmup_ratio=args.warmup_ratio,
        weight_decay=args.weight_decay,
        dropout=args.dropout,
        encoder_dropout=args.encoder_dropout,
        validation_freq=args.validation_freq,
        max_seq_length=args.max_seq_length,
        seed=args.seed,
        dtype=args.dtype,
        jit_compile=args.jit_compile,
        **options,
    )


def run(args) -> int:
    import os

    from keras_bert_impl import run_files
    from keras_bert_impl.training.finetune import run_finetuning

    results = run_finetuning(
        to_config(args),
        args.output,
        overwrite=args.overwrite,
        verbose=2 if args.quiet else "auto",
    )
    for key, value in sorted(results.items()):
        if isinstance(value, float):
            print(f"{key}: {value:.4f}")
    print(f"model: {os.path.join(args.output, run_files.MODEL_FILE)}")
    print(f"tensorboard --logdir {args.output}")
    return 0
