"""`keras-bert-impl export`: a model + tokenizer -> a TF Serving version."""

import argparse
import os

from keras_bert_impl.cli import HelpFormatter


def register(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "export",
        help="export a model with its tokenizer as a TF Serving SavedModel",
        description=(
            "Write savedmodels/<name>/<version>/: a SavedModel taking raw "
            "text (the tokenizer runs inside the graph, ahead of the "
            "XLA-compiled model) plus an int32 ids signature, with TF "
            "Serving warmup requests. Loading it needs TensorFlow and "
            "tensorflow-text only."
        ),
        formatter_class=HelpFormatter,
    )
    parser.add_argument(
        "--model",
        required=True,
        help="a .keras model file (encoder or task model), or a checkpoint "
        "directory (Hugging Face or TF1: exports the bare encoder)",
    )
    parser.add_argument("--name", required=True, help="TF Serving model name")
    parser.add_argument(
        "--version",
        type=int,
        help="integer version (default: one more than the highest existing)",
    )
    parser.add_argument(
        "--root", default="savedmodels", help="folder holding <name>/"
    )
    parser.add_argument(
        "--tokenizer",
        help="folder with vocab.txt (and tokenizer.json), or a vocab.txt "
        "(default: the model's folder)",
    )
    parser.add_argument(
        "--cased",
        action="store_true",
        help="keep case and accents (a tokenizer.json decides instead; "
        "default: lower-case, or the casing a finetune run trained with)",
    )
    parser.add_argument(
        "--max-length",
        type=int,
        help="longest input in tokens (default: the model's length)",
    )
    parser.add_argument(
        "--task",
        help="kind of model, if not detected from its class: encoder, "
        "classifier, regressor, token_classifier, question_answering, "
        "multiple_choice",
    )
    parser.add_argument(
        "--labels", help="comma-separated class names (default: the model's)"
    )
    parser.add_argument(
        "--text-pair",
        action="store_true",
        default=None,
        help="the classifier takes a text pair (default: the model's)",
    )
    parser.add_argument(
        "--no-xla", action="store_true", help="do not compile with XLA"
    )
    parser.add_argument(
        "--no-warmup", action="store_true", help="write no warmup requests"
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace an existing version"
    )
    parser.set_defaults(func=run)
    return parser


def next_version(folder: str) -> int:
    """One more than the highest integer version in `folder` (1 if none)."""
    if not os.path.isdir(folder):
        return 1
    versions = [int(n) for n in os.listdir(folder) if n.isdigit()]
    return max(versions, default=0) + 1


def _load_model(path: str):
    import keras

    import keras_bert_impl.models  # noqa: F401  (registers the classes)

    try:
        import keras_bert_impl.models.tasks  # noqa: F401
    except ImportError:
        pass
    # compile=False: serving needs no optimizer, and a fine-tuned model's
    # optimizer (AdamW + its schedule) need not deserialize here.
    if os.path.isfile(path) and path.endswith(".keras"):
        return keras.saving.load_model(path, compile=False)
    if os.path.isfile(os.path.join(path, "model.keras")):  # a finetune run
        return keras.saving.load_model(
            os.path.join(path, "model.keras"), compile=False
        )
    from keras_bert_impl.checkpoints.io import load_checkpoint

    model, _ = load_checkpoint(path)
    return model


def _load_tokenizer(path: str, cased: bool):
    from keras_bert_impl.tokenization.bert_tokenizer import BertTokenizer

    if os.path.isfile(path):
        return BertTokenizer(path, lower_case=not cased)
    if os.path.isfile(os.path.join(path, "tokenizer.json")):
        return BertTokenizer.load(path)
    vocab = os.path.join(path, "vocab.txt")
    if not os.path.isfile(vocab):
        raise FileNotFoundError(
            f"No vocab.txt in {path!r}: pass --tokenizer with the folder or "
            "the vocab.txt the model was trained with."
        )
    return BertTokenizer(vocab, lower_case=not cased and _run_lower_case(path))


def _run_lower_case(folder: str) -> bool:
    """The casing a `finetune` run folder trained with (True elsewhere)."""
    from keras_bert_impl.cli import _tasks

    path = os.path.join(folder, _tasks.CONFIG_FILE)
    if not os.path.isfile(path):
        return True
    return bool(_tasks.read_run(folder).get("lower_case", True))


def run(args) -> int:
    if not os.path.exists(args.model):
        raise FileNotFoundError(
            f"No model at {args.model!r}. Pass a `.keras` task model, a "
            "`keras-bert-impl finetune` output folder, or a checkpoint "
            "(Hugging Face folder or TF1)."
        )
    folder = os.path.join(args.root, args.name)
    version = args.version if args.version is not None else next_version(folder)
    if version < 0:
        raise ValueError(
            f"--version must be a non-negative integer. Received: {version}"
        )
    model_dir = args.model if os.path.isdir(args.model) else None
    tokenizer_path = (
        args.tokenizer
        or model_dir
        or os.path.dirname(os.path.abspath(args.model))
    )

    from keras_bert_impl.export.serving import export_savedmodel

    model = _load_model(args.model)
    tokenizer = _load_tokenizer(tokenizer_path, args.cased)
    labels = None
    if args.labels:
        labels = [s.strip() for s in args.labels.split(",")]
    path = export_savedmodel(
        model,
        tokenizer,
        os.path.join(folder, str(version)),
        max_length=args.max_length,
        overwrite=args.overwrite,
        jit_compile=not args.no_xla,
        warmup=not args.no_warmup,
        task=args.task,
        label_names=labels,
        text_pair=args.text_pair,
    )
    print(f"exported {path}")
    print(
        "signatures: serving_default (raw text), from_ids, tokenize; "
        "load with `import tensorflow_text` before tf.saved_model.load"
    )
    return 0
