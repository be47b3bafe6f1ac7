"""One worker of the two-process `MultiWorkerMirroredStrategy` test.

Run by `test_distribute.py` with `TF_CONFIG` set; trains the tiny
pretrainer for a few steps with `model.fit` and writes a JSON report (the
weights' SHA-256, the logged losses, the optimizer step) to `argv[1]`.
"""

import hashlib
import json
import sys

import keras
import numpy as np
import tensorflow as tf

from keras_bert_impl import BertConfig
from keras_bert_impl import build_encoder
from keras_bert_impl.training.distribute import get_strategy
from keras_bert_impl.training.optimization import create_optimizer
from keras_bert_impl.training.pretrain import PretrainingModel
from tests.training.synthetic import synthetic_dataset

GLOBAL_BATCH = 4
STEPS = 3


def main(report_path):
    strategy = get_strategy("multi_worker")
    keras.utils.set_random_seed(7)
    with strategy.scope():
        encoder = build_encoder(
            BertConfig(
                vocabulary_size=32,
                hidden_dim=16,
                num_layers=2,
                num_heads=2,
                intermediate_dim=32,
                max_sequence_length=8,
            )
        )
        model = PretrainingModel(encoder)
        model.compile(optimizer=create_optimizer(1e-3, 10, 1))
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = (
        tf.data.experimental.AutoShardPolicy.DATA
    )
    ds = synthetic_dataset(seed=0, batch_size=GLOBAL_BATCH, num_batches=STEPS)
    history = model.fit(ds.with_options(options), epochs=1, verbose=0)
    digest = hashlib.sha256()
    for v in model.weights:
        digest.update(np.ascontiguousarray(keras.ops.convert_to_numpy(v)))
    with open(report_path, "w") as f:
        json.dump(
            {
                "sha256": digest.hexdigest(),
                "loss": history.history["loss"],
                "replicas": strategy.num_replicas_in_sync,
                "step": int(model.optimizer.iterations.numpy()),
            },
            f,
        )


if __name__ == "__main__":
    main(sys.argv[1])
