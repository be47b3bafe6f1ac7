"""A pretraining run in its own process, for the SIGKILL resume test.

    python -m tests.training.resume_script TMP MODE

`MODE` is `cli` (the `pretrain` command's code path, uninterrupted) or
`slow` (the Python API with a callback that sleeps after each batch and
writes the global step to `TMP/progress`, so the parent can SIGKILL the
process mid-epoch). Both train the same config in `TMP/<mode>/run`.
"""

import argparse
import pathlib
import sys
import time

import keras

from tests.training.conftest import tiny_run_config

STEPS, STEPS_PER_EPOCH = 8, 2


class SlowProgress(keras.callbacks.Callback):
    def __init__(self, path):
        super().__init__()
        self.path = path

    def on_train_batch_end(self, batch, logs=None):
        from keras_bert_impl.training.callbacks import global_step

        self.path.write_text(str(global_step(self.model)))
        time.sleep(0.5)


def main(tmp, mode):
    tmp = pathlib.Path(tmp)
    (tmp / mode).mkdir(exist_ok=True)
    config = tiny_run_config(
        tmp / mode, steps=STEPS, steps_per_epoch=STEPS_PER_EPOCH
    )
    if mode == "cli":
        from keras_bert_impl.cli import pretrain as command

        parser = argparse.ArgumentParser()
        command.register(parser.add_subparsers())
        argv = ["pretrain", "--config", str(tmp / "bert.json")]
        config_path = tmp / "bert.json"
        import json

        config_path.write_text(json.dumps(config.model))
        for name in ("train", "validation"):
            for f in getattr(config, name):
                argv += [f"--{name}", f]
        argv += [
            "--vocab", config.vocab,
            "--logdir", config.logdir,
            "--steps", str(STEPS),
            "--steps-per-epoch", str(STEPS_PER_EPOCH),
            "--batch-size", str(config.batch_size),
            "--max-seq-length", str(config.max_seq_length),
            "--max-predictions", str(config.max_predictions_per_seq),
            "--learning-rate", str(config.learning_rate),
            "--warmup-steps", str(config.warmup_steps),
            "--validation-steps", str(config.validation_steps),
            "--quiet",
        ]  # fmt: skip
        args = parser.parse_args(argv)
        return args.func(args)
    from keras_bert_impl.training.pretrain import pretrain

    pretrain(config, callbacks=[SlowProgress(tmp / "progress")], verbose=2)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
