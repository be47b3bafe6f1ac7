"""TF Serving warmup requests: `assets.extra/tf_serving_warmup_requests`.

TF Serving replays the `PredictionLog` records of this TFRecord file when it
loads a version, before the version takes traffic, so the first client does
not pay for XLA compilation. Built with the `tensorflow-serving-api` protos
when installed; without them the file is skipped (see `write_warmup`).
"""

import os

import tensorflow as tf

WARMUP_DIR = "assets.extra"
WARMUP_FILE = "tf_serving_warmup_requests"
WARMUP_BATCH_SIZES = (1, 8, 32)
WARMUP_TEXTS = ("The quick brown fox jumps over the lazy dog.", "")


def warmup_inputs(text_specs: dict, batch_size: int) -> dict:
    """Example `serving_default` inputs of `batch_size` rows (numpy)."""
    texts = [WARMUP_TEXTS[i % len(WARMUP_TEXTS)] for i in range(batch_size)]
    inputs = {}
    for name, spec in text_specs.items():
        if spec.shape.rank == 2:  # multiple-choice choices
            width = spec.shape[1] or 2
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
) -> str:
    """Writes the warmup TFRecord of `PredictionLog`s into `export_dir`.

    Args:
        export_dir: str. The SavedModel directory.
        model_name: str. TF Serving model name put in each request.
        signature_name: str. The signature the requests call.
        text_specs: dict of the signature's input specs, name -> spec.
        batch_sizes: batch sizes of the requests, one request each.

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
    with tf.io.TFRecordWriter(path) as writer:
        for batch_size in batch_sizes:
            request = predict_pb2.PredictRequest(
                model_spec=model_pb2.ModelSpec(
                    name=model_name, signature_name=signature_name
                )
            )
            for name, value in warmup_inputs(text_specs, batch_size).items():
                request.inputs[name].CopyFrom(tf.make_tensor_proto(value))
            log = prediction_log_pb2.PredictionLog(
                predict_log=prediction_log_pb2.PredictLog(request=request)
            )
            writer.write(log.SerializeToString())
    return path


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
