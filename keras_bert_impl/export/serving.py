"""`export_savedmodel`: one SavedModel, raw text in, predictions out.

The export is a TF Serving model version: `savedmodels/<name>/<version>/`
with an integer version. It is written into a hidden staging folder beside
the version (TF Serving ignores names that are not integers) and swapped
in whole (`keras_bert_impl.paths.StagedFolder`), so a server polling
`savedmodels/<name>/` never sees a half-written version, and an existing
version is never replaced unless asked.

A process that loads the export needs TensorFlow and tensorflow-text (run
`import tensorflow_text` before `tf.saved_model.load`); it does not need
this package.
"""

import os

import tensorflow as tf

from keras_bert_impl.export import deploy_notes
from keras_bert_impl.export import signatures as signatures_lib
from keras_bert_impl.export import warmup as warmup_lib
from keras_bert_impl.export.precision import check_precision
from keras_bert_impl.export.precision import with_precision
from keras_bert_impl.export.tasks import detect_task
from keras_bert_impl.models.encoder import find_encoder
from keras_bert_impl.paths import StagedFolder
from keras_bert_impl.runtime import resolve_serving_jit_compile


def next_version(folder) -> int:
    """One more than the highest integer version in `folder` (1 if none).

    Example:
    >>> import tempfile
    >>> next_version(tempfile.mkdtemp())
    1
    """
    if not os.path.isdir(folder):
        return 1
    versions = [int(n) for n in os.listdir(folder) if n.isdigit()]
    return max(versions, default=0) + 1


def docker_command(
    model, folder, name: str, jit_compile="auto", precision="float32"
) -> str:
    """The `docker run` line that serves `folder` (the integer versions of
    `model` exported with these `jit_compile` and `precision`) as `name`
    with TF Serving's image: `deploy_notes.docker_command`, with the XLA
    flag when the export runs any request XLA-compiled (the rule
    `export_savedmodel` applies, `resolve_serving_jit_compile`)."""
    xla_max_tokens = resolve_serving_jit_compile(
        jit_compile, precision, find_encoder(model).hidden_dim
    )
    return deploy_notes.docker_command(folder, name, xla_max_tokens)


def export_savedmodel(
    model,
    tokenizer,
    path: str | os.PathLike,
    max_length: int | None = None,
    overwrite: bool = False,
    jit_compile="auto",
    warmup: bool = True,
    task: str | None = None,
    label_names=None,
    text_pair: bool | None = None,
    pooling: str = "mean",
    normalize: bool = False,
    precision: str = "float32",
    length_step: int | None = None,
) -> str:
    """Exports a model and its tokenizer as a TF Serving SavedModel.

    Signatures (see `keras_bert_impl.export.signatures`):
    `serving_default` (raw text in, predictions out: label and probabilities
    for a classifier, per-token labels with character spans for a token
    classifier, the answer text and span for question answering, the chosen
    answer for multiple choice, pooled and sequence outputs for a bare
    encoder), `from_ids` (int32 `token_ids`, `segment_ids`,
    `padding_mask` in) and `tokenize`.

    Tokenization runs in the graph ahead of the numeric model, which runs
    XLA-compiled for the requests `jit_compile` sends there (TF Serving on
    CPU then needs `--xla_cpu_compilation_enabled=true`) and on
    TensorFlow's kernels for the others. Batch size and text length
    are free; packed inputs longer than `max_length` are cut (the longer
    segment first, as `BertTokenizer.encode` does). Each weight is stored
    once.

    Args:
        model: a `BertEncoder` or a task model built on one.
        tokenizer: the `BertTokenizer` the model was trained with.
        path: str or path. The version directory, whose name is an
            integer: `savedmodels/<name>/<version>`.
        max_length: optional int. Longest packed input, special tokens
            included. Defaults to the model's `max_sequence_length`.
        overwrite: bool. Replace an existing version. Defaults to `False`.
        jit_compile: `True`, `False` or `"auto"`. Run the numeric model
            XLA-compiled for every request (`True`), for none (`False`), or
            (`"auto"`, default) for every request on a GPU/TPU host and,
            on a CPU host, for a float32 export's requests of up to
            `runtime.serving_xla_max_tokens(hidden_dim)` padded tokens
            (128 at hidden size 384, 32 at 768; larger ones
            and every request of a bfloat16 export on TensorFlow's
            kernels: `runtime.resolve_serving_jit_compile`; the
            measurement in the README).
        warmup: bool. Write `assets.extra/tf_serving_warmup_requests`
            (needs `tensorflow-serving-api`): a few batches of sentences,
            and one request per shape XLA compiles (up to the batching
            file's largest batch), so TF Serving compiles them all at
            load. Defaults to `True`.
        task: optional str. The kind of model (one of
            `keras_bert_impl.export.tasks.KINDS`). Defaults to detection
            from the model's class.
        label_names: optional list of str. Class names; defaults to the
            model's `label_names`, else `LABEL_0`, `LABEL_1`, ...
        text_pair: optional bool. Whether a classifier takes a text pair
            (a second input `text_pair`). Defaults to the model's
            `text_pair` attribute, else `False`.
        pooling: str. For `task="embedding"` (a bare encoder served as one
            vector per text, e.g. for semantic search): `"mean"` over the
            real tokens (default), `"cls"`, `"max"`, `"mean_sqrt_len"` or
            `"pooler"`. `keras_bert_impl.run_files.read_sentence_transformers`
            reads it from a sentence-transformers folder.
        normalize: bool. L2-normalize embeddings. Defaults to `False`.
        precision: str. `"float32"` (default), or `"bfloat16"`: the weights
            stored once in bfloat16 and the matmuls run on bfloat16
            operands, outputs in float32 (see
            `keras_bert_impl.export.precision`).
        length_step: optional int. Pad the sequence of an XLA-bound
            request to a multiple of this many tokens (one compilation per
            multiple) instead of the default powers of two (see
            `signatures.length_buckets`).

    Returns:
        The absolute path of the written version.

    Raises:
        ValueError: the version is not an integer, `max_length` is out of
            range, or the tokenizer does not fit the model.
        FileExistsError: the version exists and `overwrite` is `False`.
        ImportError: `warmup=True` without `tensorflow-serving-api`.

    Example:
    >>> import os
    >>> import tempfile
    >>> import tensorflow as tf
    >>> import tensorflow_text  # a loader needs its ops, not this package
    >>> vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world"]
    >>> tokenizer = kbi.BertTokenizer(vocab)
    >>> encoder = kbi.build_encoder(kbi.BertConfig.preset(
    ...     "tiny", vocabulary_size=len(vocab), num_layers=1, hidden_dim=16,
    ...     num_heads=2, intermediate_dim=32, max_sequence_length=16))
    >>> with tempfile.TemporaryDirectory() as root:
    ...     path = kbi.export_savedmodel(encoder, tokenizer, f"{root}/tiny/1",
    ...                                  jit_compile=False, warmup=False)
    ...     serve = tf.saved_model.load(path).signatures["serving_default"]
    ...     out = serve(text=tf.constant(["Hello world!", ""]))
    >>> os.path.basename(path)
    '1'
    >>> out["token_ids"].numpy().tolist()  # [CLS] hello world [UNK] [SEP]
    [[2, 5, 6, 1, 3], [2, 3, 0, 0, 0]]
    >>> tuple(out["pooled_output"].shape)
    (2, 16)
    """
    path = os.path.abspath(os.fspath(path))
    parent, version = os.path.split(path)
    if not version.isdigit():
        raise ValueError(
            "TF Serving needs an integer version directory: "
            "savedmodels/<name>/<version>, e.g. savedmodels/my_model/1. "
            f"Received: path={path!r}"
        )
    if os.path.exists(path) and not overwrite:
        raise FileExistsError(
            f"Version {version} of {parent} exists; pass overwrite=True "
            "(--overwrite) to replace it, or use a new version number."
        )
    check_precision(precision)
    encoder = find_encoder(model)
    if tokenizer.vocabulary_size > encoder.vocabulary_size:
        raise ValueError(
            f"The tokenizer has {tokenizer.vocabulary_size} tokens but the "
            f"model only {encoder.vocabulary_size} token embeddings. "
            f"Received: vocabulary_size={tokenizer.vocabulary_size}. Pass "
            "the vocab.txt the model was trained with."
        )
    serving_task = detect_task(
        model,
        task,
        label_names,
        text_pair,
        embedding={"pooling": pooling, "normalize": bool(normalize)},
    )
    if (
        serving_task.kind == "embedding"
        and pooling == "pooler"
        and not encoder.pooler
    ):
        raise ValueError(
            "pooling='pooler' needs the encoder's pooler, and this one has "
            "none: pass pooling='mean' or 'cls'."
        )
    num_special = 2 if len(serving_task.text_inputs) == 1 else 3
    if max_length is None:
        max_length = encoder.max_sequence_length
    if not num_special < int(max_length) <= encoder.max_sequence_length:
        raise ValueError(
            f"`max_length` must be more than {num_special} and at most the "
            f"model's max_sequence_length={encoder.max_sequence_length}. "
            f"Received: max_length={max_length}"
        )
    if warmup:
        try:
            import tensorflow_serving.apis.prediction_log_pb2  # noqa: F401
        except ImportError as e:
            raise ImportError(
                "warmup=True writes TF Serving warmup requests with the "
                "tensorflow-serving-api protos: `pip install "
                "tensorflow-serving-api==2.21.0`, or pass warmup=False."
            ) from e

    xla_max_tokens = resolve_serving_jit_compile(
        jit_compile, precision, encoder.hidden_dim
    )
    buckets = signatures_lib.length_buckets(int(max_length), length_step)
    module = signatures_lib.ServingModule(
        with_precision(model, precision),
        tokenizer,
        serving_task,
        int(max_length),
        xla_max_tokens,
        lengths=buckets,
    )
    signatures = module.signatures()
    staged = StagedFolder(path, overwrite=overwrite, what="export version")
    with staged as tmp:
        tf.saved_model.save(module, tmp, signatures=signatures)
        if warmup:
            # Every shape XLA compiles, so that no client waits for it.
            compiled = warmup_lib.xla_shape_inputs(
                module.encode,
                serving_task.text_inputs,
                buckets,
                max_rows=deploy_notes.max_batch_size(int(max_length)),
                xla_max_tokens=xla_max_tokens,
                filler=warmup_lib.filler_word(tokenizer.vocabulary),
            )
            warmup_lib.write_warmup(
                tmp,
                model_name=os.path.basename(parent),
                signature_name=signatures_lib.DEFAULT,
                text_specs=serving_task.text_inputs,
                extra_inputs=compiled,
            )
        deploy_notes.write_deploy_notes(
            tmp,
            name=os.path.basename(parent),
            xla_max_tokens=xla_max_tokens,
            precision=precision,
            length_buckets=buckets,
            max_length=int(max_length),
        )
        staged.commit()
    return path
