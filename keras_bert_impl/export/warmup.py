"""TF Serving warmup requests: `assets.extra/tf_serving_warmup_requests`.

TF Serving replays the `PredictionLog` records of this TFRecord file when it
loads a version, before the version takes traffic, so the first client does
not pay for XLA compilation. Built with the `tensorflow-serving-api` protos
when installed; without them the file is skipped (see `write_warmup`).
"""

import os

import tensorflow as tf

from keras_bert_impl.runtime import serving_compiles

WARMUP_DIR = "assets.extra"
WARMUP_FILE = "tf_serving_warmup_requests"
WARMUP_BATCH_SIZES = (1, 8, 32)
WARMUP_TEXTS = ("The quick brown fox jumps over the lazy dog.", "")
# Columns of `choices` in a multiple-choice request when the signature
# leaves them free.
CHOICES = 2


def warmup_inputs(text_specs: dict, batch_size: int, texts=None) -> dict:
    """Example `serving_default` inputs of `batch_size` rows (numpy).

    `texts`: the rows' texts (default: `WARMUP_TEXTS` in turn), used for
    every text input (reversed in every other column of `choices`).
    """
    if texts is None:
        texts = [WARMUP_TEXTS[i % len(WARMUP_TEXTS)] for i in range(batch_size)]
    inputs = {}
    for name, spec in text_specs.items():
        if spec.shape.rank == 2:  # multiple-choice choices
            width = spec.shape[1] or CHOICES
            inputs[name] = tf.constant(
                [[t[::-1] if j % 2 else t for j in range(width)] for t in texts]
            ).numpy()
        else:
            inputs[name] = tf.constant(texts).numpy()
    return inputs


def write_warmup(
    export_dir: str,
    model_name: str,
    signature_name: str,
    text_specs: dict,
    batch_sizes=WARMUP_BATCH_SIZES,
    extra_inputs=(),
) -> str:
    """Writes the warmup TFRecord of `PredictionLog`s into `export_dir`.

    Args:
        export_dir: str. The SavedModel directory.
        model_name: str. TF Serving model name put in each request.
        signature_name: str. The signature the requests call.
        text_specs: dict of the signature's input specs, name -> spec.
        batch_sizes: batch sizes of the requests of `WARMUP_TEXTS`, one
            request each.
        extra_inputs: more requests, as input dicts (e.g.
            `xla_shape_inputs`), written after those.

    Returns:
        The path of the written file.

    Raises:
        ImportError: `tensorflow-serving-api` is not installed.
    """
    from tensorflow_serving.apis import model_pb2
    from tensorflow_serving.apis import predict_pb2
    from tensorflow_serving.apis import prediction_log_pb2

    folder = os.path.join(export_dir, WARMUP_DIR)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, WARMUP_FILE)
    requests = [warmup_inputs(text_specs, n) for n in batch_sizes]
    requests += list(extra_inputs)
    with tf.io.TFRecordWriter(path) as writer:
        for inputs in requests:
            request = predict_pb2.PredictRequest(
                model_spec=model_pb2.ModelSpec(
                    name=model_name, signature_name=signature_name
                )
            )
            for name, value in inputs.items():
                request.inputs[name].CopyFrom(tf.make_tensor_proto(value))
            log = prediction_log_pb2.PredictionLog(
                predict_log=prediction_log_pb2.PredictLog(request=request)
            )
            writer.write(log.SerializeToString())
    return path


def filler_word(vocabulary) -> str:
    """A whole word of the vocabulary, to build texts of chosen lengths:
    the first lowercase alphabetic token, else the first alphabetic one
    (e.g. a CJK character), else the first non-special token."""
    candidates = [
        t for t in vocabulary if not t.startswith(("[", "##", "<")) and t
    ]
    for accept in (lambda t: t.isalpha() and t.islower(), str.isalpha):
        for token in candidates:
            if accept(token):
                return token
    return candidates[0] if candidates else "a"


def xla_shape_inputs(
    encode, text_specs, lengths, max_rows, xla_max_tokens, filler
) -> list[dict]:
    """`serving_default` inputs, one per shape the export XLA-compiles.

    A request runs XLA-compiled when its padded rows x padded length is
    at most `xla_max_tokens` (`runtime.resolve_serving_jit_compile`);
    XLA compiles each such shape on first sight. One request per
    (power-of-two rows up to `max_rows`, bucket length) within that
    budget makes TF Serving compile them all at load, before any client.
    Each request repeats `filler` k times in every text input, k found by
    bisection on the real packed length (`encode`), so every task's
    packing (pairs, questions, choices) is honoured; a length no k lands
    on is left out.

    Args:
        encode: callable, text inputs (dict of string tensors) -> (packed
            int32 inputs, context), as `ServingModule.encode`.
        text_specs: dict of the signature's input specs, name -> spec.
        lengths: the export's bucket lengths (sorted).
        max_rows: int. The largest batch to cover (the batching file's).
        xla_max_tokens: int. The export's XLA budget.
        filler: str. A one-token word (`filler_word`).

    Returns:
        list of input dicts (numpy), smallest first.
    """
    choices = 1
    for spec in text_specs.values():
        if spec.shape.rank == 2:
            choices = spec.shape[1] or CHOICES

    def packed_length(k):
        inputs = warmup_inputs(text_specs, 1, [" ".join([filler] * k)])
        packed, _ = encode({n: tf.constant(v) for n, v in inputs.items()})
        return int(packed["token_ids"].shape[-1])

    requests = []
    for i, length in enumerate(lengths):
        if not serving_compiles(choices, length, xla_max_tokens):
            break  # not even one row of this length is compiled
        shortest = lengths[i - 1] + 1 if i else 0
        low, high = 0, length  # the largest k packed within `length`
        if packed_length(low) > length:
            continue
        while low < high:
            middle = (low + high + 1) // 2
            if packed_length(middle) <= length:
                low = middle
            else:
                high = middle - 1
        if packed_length(low) < shortest:
            continue  # no text lands in this bucket
        text = " ".join([filler] * low)
        rows = 1
        while rows <= max_rows and serving_compiles(
            rows * choices, length, xla_max_tokens
        ):
            requests.append(warmup_inputs(text_specs, rows, [text] * rows))
            rows *= 2
    return requests


def read_warmup(export_dir: str) -> list[tuple[str, dict]]:
    """The requests of a warmup file: `(signature_name, inputs)` pairs."""
    from tensorflow_serving.apis import prediction_log_pb2

    path = os.path.join(export_dir, WARMUP_DIR, WARMUP_FILE)
    requests = []
    for record in tf.data.TFRecordDataset(path).as_numpy_iterator():
        log = prediction_log_pb2.PredictionLog.FromString(record)
        request = log.predict_log.request
        inputs = {k: tf.make_ndarray(v) for k, v in request.inputs.items()}
        requests.append((request.model_spec.signature_name, inputs))
    return requests
