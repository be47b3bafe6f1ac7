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
        help="folder with vocab.txt (and its tokenizer_config.json), or a "
        "vocab.txt (default: the model's folder)",
    )
    parser.add_argument(
        "--cased",
        action="store_true",
        help="keep case and accents (default: the casing stored with the "
        "vocabulary, e.g. tokenizer_config.json, else lower-case)",
    )
    parser.add_argument(
        "--max-length",
        type=int,
        help="longest input in tokens (default: the model's length)",
    )
    parser.add_argument(
        "--task",
        help="what the export serves, if not detected: encoder, embedding, "
        "classifier, multi_label_classifier, regressor, token_classifier, "
        "question_answering, multiple_choice (default: from the model; a "
        "Hugging Face task folder from its config.json; a sentence-"
        "transformers folder: embedding)",
    )
    parser.add_argument(
        "--pooling",
        choices=("mean", "cls", "max", "mean_sqrt_len", "pooler"),
        help="embedding: how token vectors become one vector (default: the "
        "sentence-transformers folder's, else mean)",
    )
    parser.add_argument(
        "--normalize",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="embedding: L2-normalize the vector (default: the "
        "sentence-transformers folder's, else no)",
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
        "--no-xla",
        dest="jit_compile",
        action="store_const",
        const=False,
        default="auto",
        help="serve every request with TensorFlow's kernels, not XLA "
        "(default: on a CPU host, a float32 export's small requests with "
        "XLA and larger ones with TensorFlow's kernels, a bfloat16 export "
        "all with TensorFlow's kernels; on a GPU/TPU host all with XLA)",
    )
    parser.add_argument(
        "--xla",
        dest="jit_compile",
        action="store_const",
        const=True,
        help="serve every request XLA-compiled, whatever its size and "
        "the precision",
    )
    parser.add_argument(
        "--precision",
        choices=("float32", "bfloat16"),
        default="float32",
        help="bfloat16: weights stored once in bfloat16, matmuls on "
        "bfloat16 operands (fast on CPUs with AVX-512 BF16 or AMX), "
        "outputs float32",
    )
    parser.add_argument(
        "--length-step",
        type=int,
        help="pad inputs to a multiple of this many tokens (one compiled "
        "shape per multiple) instead of powers of two",
    )
    parser.add_argument(
        "--no-warmup", action="store_true", help="write no warmup requests"
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace an existing version"
    )
    parser.set_defaults(func=run)
    return parser


def load_model_and_tokenizer(model_path: str, tokenizer_path=None,
                             cased: bool = False):  # fmt: skip
    """The model and tokenizer `--model` / `--tokenizer` name.

    A fine-tuning run folder gives its task model, a `.keras` file its
    model, a checkpoint folder its task model with its labels when it has
    a head (a Hugging Face task folder: `load_task_model`) or else its
    encoder; the tokenizer is the one stored beside the model (or in
    `--tokenizer`), its casing read from the tokenizer files unless
    `cased` forces it (`keras_bert_impl.checkpoints.resolve.load_tokenizer`).
    """
    import keras

    import keras_bert_impl.models  # noqa: F401  (registers the classes)
    from keras_bert_impl import run_files
    from keras_bert_impl.checkpoints.resolve import load_tokenizer
    from keras_bert_impl.checkpoints.task_models import load_task_model
    from keras_bert_impl.models.pretrainer import BertPretrainer
    from keras_bert_impl.training.finetune import load_finetuned

    if os.path.isdir(model_path) and run_files.is_finetune_run(model_path):
        model, _ = load_finetuned(model_path)
    elif os.path.isfile(model_path) and model_path.endswith(".keras"):
        # compile=False: serving needs no optimizer.
        model = keras.saving.load_model(model_path, compile=False)
        model_path = os.path.dirname(os.path.abspath(model_path))
    else:
        model = load_task_model(model_path)
        if isinstance(model, BertPretrainer):
            model = model.encoder  # serve the encoder of a pretraining run
    tokenizer = load_tokenizer(
        tokenizer_path or model_path, lower_case=False if cased else None
    )
    return model, tokenizer


def embedding_recipe(args, model):
    """`(task, pooling, normalize)` for the export: `--task`, `--pooling`,
    `--normalize`, else a sentence-transformers folder's recipe."""
    from keras_bert_impl import run_files
    from keras_bert_impl.models.encoder import BertEncoder

    task, pooling, normalize = args.task, args.pooling, args.normalize
    recipe = None
    if os.path.isdir(args.model):
        recipe = run_files.read_sentence_transformers(args.model)
    if task is None and recipe is not None and isinstance(model, BertEncoder):
        task = "embedding"
    if (pooling is not None or normalize is not None) and task is None:
        task = "embedding"
    if task == "embedding":
        recipe = recipe or {}
        pooling = pooling or recipe.get("pooling", "mean")
        if normalize is None:
            normalize = recipe.get("normalize", False)
    return task, pooling or "mean", bool(normalize)


def run(args) -> int:
    if not os.path.exists(args.model):
        raise FileNotFoundError(
            f"No model at {args.model!r}. Pass a `.keras` task model, a "
            "`keras-bert-impl finetune` output folder, or a checkpoint "
            "(Hugging Face folder or TF1)."
        )
    _check_name(args.name)
    from keras_bert_impl.export.serving import docker_command
    from keras_bert_impl.export.serving import export_savedmodel
    from keras_bert_impl.export.serving import next_version

    folder = os.path.join(args.root, args.name)
    version = args.version if args.version is not None else next_version(folder)
    if version < 0:
        raise ValueError(
            f"--version must be a non-negative integer. Received: {version}"
        )

    model, tokenizer = load_model_and_tokenizer(
        args.model, args.tokenizer, args.cased
    )
    task, pooling, normalize = embedding_recipe(args, model)
    labels = None
    if args.labels:
        labels = [s.strip() for s in args.labels.split(",")]
    path = export_savedmodel(
        model,
        tokenizer,
        os.path.join(folder, str(version)),
        max_length=args.max_length,
        overwrite=args.overwrite,
        jit_compile=args.jit_compile,
        warmup=not args.no_warmup,
        task=task,
        label_names=labels,
        text_pair=args.text_pair,
        pooling=pooling,
        normalize=normalize,
        precision=args.precision,
        length_step=args.length_step,
    )
    print(f"exported {path}")
    print(
        "signatures: serving_default (raw text), from_ids, tokenize; "
        "load with `import tensorflow_text` before tf.saved_model.load"
    )
    command = docker_command(
        model, folder, args.name, args.jit_compile, args.precision
    )
    print(f"serve it: {command}  (flags: {path}/assets.extra/SERVING.md)")
    return 0


def _check_name(name: str) -> None:
    """A TF Serving model name: one folder under --root, no path parts."""
    if (
        not name
        or name in (".", "..")
        or os.sep in name
        or (os.altsep and os.altsep in name)
        or name.startswith(".")
    ):
        raise ValueError(
            "--name must be a plain folder name (letters, digits, '-', '_'; "
            "no '/', no leading '.'): it becomes <root>/<name>/<version>. "
            f"Received: --name {name!r}"
        )
