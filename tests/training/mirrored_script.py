"""`MirroredStrategy` over 2 logical CPUs with XLA, in its own process.

    python -m tests.training.mirrored_script REPORT TMP

Splits the CPU into two logical devices (possible only before TensorFlow
initializes, hence the separate process), then (1) checks that `pretrain`
refuses a global batch that does not divide over the replicas, before
training, and (2) trains the tiny pretrainer 3 steps with `model.fit`,
`jit_compile=True`. Writes a JSON report to `REPORT`.
"""

import json
import pathlib
import sys

import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration()] * 2
)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_bert_impl import BertConfig  # noqa: E402
from keras_bert_impl import build_encoder  # noqa: E402
from keras_bert_impl.optimizers import create_optimizer  # noqa: E402
from keras_bert_impl.training.distribute import get_strategy  # noqa: E402
from keras_bert_impl.training.pretrain import PretrainingModel  # noqa: E402
from keras_bert_impl.training.pretrain import pretrain  # noqa: E402
from tests.conftest import TINY  # noqa: E402
from tests.training.conftest import tiny_run_config  # noqa: E402
from tests.training.synthetic import synthetic_dataset  # noqa: E402


def main(report, tmp):
    result = {}
    config = tiny_run_config(
        pathlib.Path(tmp), strategy="mirrored", batch_size=3
    )
    try:
        pretrain(config)
    except ValueError as e:
        result["batch_error"] = str(e)
    result["logdir_created"] = pathlib.Path(config.logdir).exists()

    strategy = get_strategy("mirrored", devices=["/cpu:0", "/cpu:1"])
    keras.utils.set_random_seed(3)
    with strategy.scope():
        model = PretrainingModel(build_encoder(BertConfig(**TINY)))
        model.compile(optimizer=create_optimizer(1e-3, 10, 1))
    history = model.fit(synthetic_dataset(0, num_batches=3), verbose=0)
    weights = model.encoder.token_embedding.embeddings
    result.update(
        replicas=strategy.num_replicas_in_sync,
        jit_compile=bool(model.jit_compile),
        loss=history.history["loss"],
        finite=bool(np.isfinite(keras.ops.convert_to_numpy(weights)).all()),
        step=int(keras.ops.convert_to_numpy(model.optimizer.iterations)),
    )
    with open(report, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main(*sys.argv[1:])
