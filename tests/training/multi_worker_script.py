"""One worker of the two-process `MultiWorkerMirroredStrategy` test.

Run by `test_distribute.py` with `TF_CONFIG` set: pretrains the tiny model
for a few steps through `pretrain(strategy="multi_worker")` (`model.fit`,
checkpoints, TensorBoard) into the run folder both workers are given, and
writes a JSON report to `argv[1]`: the weights' SHA-256, the logged
losses, the optimizer step, and the event files this worker left in its
own temporary folder (`workertemp_<index>` beside the run folder) at the
end of training and after `pretrain` returned.
"""

import glob
import hashlib
import json
import os
import sys

import keras
import numpy as np

from keras_bert_impl.training.pretrain import PretrainingConfig
from keras_bert_impl.training.pretrain import pretrain


def _events(folder):
    pattern = os.path.join(folder, "**", "events.out.tfevents.*")
    return sorted(glob.glob(pattern, recursive=True))


class _SeeTempFolder(keras.callbacks.Callback):
    """Records this worker's temporary event files when training ends."""

    def __init__(self, folder):
        super().__init__()
        self.folder = folder
        self.events = []

    def on_train_end(self, logs=None):
        self.events = _events(self.folder)


def main(report_path, config_path):
    with open(config_path, encoding="utf-8") as f:
        config = PretrainingConfig.from_dict(json.load(f))
    index = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
    parent = os.path.dirname(os.path.abspath(config.logdir))
    temp_folder = os.path.join(parent, f"workertemp_{index}")
    spy = _SeeTempFolder(temp_folder)
    history = pretrain(config, callbacks=[spy], verbose=0)
    model = history.model
    digest = hashlib.sha256()
    for v in model.weights:
        digest.update(np.ascontiguousarray(keras.ops.convert_to_numpy(v)))
    with open(report_path, "w") as f:
        json.dump(
            {
                "sha256": digest.hexdigest(),
                "loss": history.history["loss"],
                "val_loss": history.history["val_loss"],
                "replicas": model.distribute_strategy.num_replicas_in_sync,
                "step": int(model.optimizer.iterations.numpy()),
                "pid": os.getpid(),
                "temp_events_at_train_end": spy.events,
                "temp_folder_left": os.path.exists(temp_folder),
            },
            f,
        )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
