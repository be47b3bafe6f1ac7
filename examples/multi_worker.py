"""Pretrain BERT on several machines with `TF_CONFIG`: a script to copy.

On each machine, the same command with that machine's `task.index`:

    export TF_CONFIG='{"cluster": {"worker": ["host1:12345", "host2:12345"]},
                       "task": {"type": "worker", "index": 0}}'
    python examples/multi_worker.py --vocab vocab.txt \\
        --train 'corpus/*.txt' --logdir runs/multi_worker

Try it on one machine: `--local-workers 2` starts two worker processes on
127.0.0.1 with their `TF_CONFIG`s and waits for them (at most
`--worker-timeout` seconds; on a timeout, an error or Ctrl-C the workers are
stopped, never left running).

`MultiWorkerMirroredStrategy` keeps one copy of the model per worker and
all-reduces the gradients every step, so all workers end with the same
weights. `--batch-size` is the global batch: each worker reads its share
(`AutoShardPolicy.DATA`). `PretrainingModel` is `BertPretrainer` with a
train step that XLA-compiles each replica's forward and backward pass and
all-reduces outside XLA (Keras' own `fit` step cannot run under this
strategy). Worker 0 (the chief) writes TensorBoard logs and the encoder;
the others write theirs into a temporary `workertemp_<i>` folder beside
LOGDIR, removed at the end (`keras_bert_impl.training.distribute`).
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import time

import keras
import tensorflow as tf

import keras_bert_impl as kbi
from keras_bert_impl.optimizers import create_optimizer
from keras_bert_impl.training.callbacks import TrainingTensorBoard
from keras_bert_impl.training.distribute import is_chief
from keras_bert_impl.training.distribute import worker_logdir
from keras_bert_impl.training.pretrain import PretrainingModel


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--vocab", required=True, help="vocab.txt")
    parser.add_argument("--train", required=True, help="file or glob")
    parser.add_argument(
        "--logdir", default="runs/multi_worker", help="TensorBoard and encoder"
    )
    parser.add_argument("--config", default="tiny", help="BertConfig preset")
    parser.add_argument("--steps", type=int, default=200, help="total steps")
    parser.add_argument(
        "--steps-per-epoch", type=int, default=100, help="steps per log"
    )
    parser.add_argument(
        "--batch-size", type=int, default=32, help="global batch size"
    )
    parser.add_argument(
        "--max-seq-length", type=int, default=128, help="tokens per example"
    )
    parser.add_argument(
        "--local-workers",
        type=int,
        default=0,
        help="start this many workers on 127.0.0.1 (ignore TF_CONFIG)",
    )
    parser.add_argument(
        "--worker-timeout",
        type=float,
        default=3600,
        help="with --local-workers: seconds to wait for the workers",
    )
    return parser.parse_args(argv)


def launch_local_workers(n, argv, timeout):
    """Runs this script `n` times with a `TF_CONFIG` each; waits for all.

    A worker that fails, or `timeout` seconds passing, stops the others: a
    collective op would otherwise wait forever for the missing worker. The
    workers are always terminated (then killed) before returning.
    """
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    workers = [f"127.0.0.1:{s.getsockname()[1]}" for s in sockets]
    for s in sockets:
        s.close()
    procs = []
    try:
        for index in range(n):
            tf_config = {
                "cluster": {"worker": workers},
                "task": {"type": "worker", "index": index},
            }
            env = dict(os.environ, TF_CONFIG=json.dumps(tf_config))
            command = [sys.executable, __file__, *argv]
            procs.append(subprocess.Popen(command, env=env))
        deadline = time.monotonic() + timeout
        codes = [p.poll() for p in procs]
        while None in codes and not any(codes):  # running, none failed
            if time.monotonic() > deadline:
                sys.exit(f"workers still running after {timeout:g} s")
            time.sleep(0.5)
            codes = [p.poll() for p in procs]
        if any(codes):
            sys.exit(f"worker exit codes: {codes}")
    finally:
        _stop(procs)


def _stop(procs, grace=10):
    """Terminates the workers still running, then kills what is left."""
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def _without_flag(argv, flag):
    """`argv` without `flag VALUE` / `flag=VALUE` (what a worker must not
    see)."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == flag:
            skip = True
        elif not arg.startswith(flag + "="):
            out.append(arg)
    return out


def main():
    args = parse_args()
    if args.local_workers:
        argv = _without_flag(sys.argv[1:], "--local-workers")
        launch_local_workers(args.local_workers, argv, args.worker_timeout)
        return

    # Reads the cluster and this worker's index from TF_CONFIG.
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    resolver = strategy.cluster_resolver
    chief = is_chief(strategy)

    keras.utils.set_random_seed(0)  # the same initial weights everywhere
    tokenizer = kbi.BertTokenizer(args.vocab)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = (
        tf.data.experimental.AutoShardPolicy.DATA
    )
    dataset = kbi.pretraining_dataset(
        [args.train],
        tokenizer,
        max_seq_length=args.max_seq_length,
        batch_size=args.batch_size,  # global; each worker gets its share
        seed=0,
    ).with_options(options)

    with strategy.scope():
        config = kbi.BertConfig.preset(
            args.config, vocabulary_size=tokenizer.vocabulary_size
        )
        model = PretrainingModel(kbi.build_encoder(config))
        model.compile(
            optimizer=create_optimizer(
                1e-4, total_steps=args.steps, warmup_steps=args.steps // 10
            )
        )
    # Every worker runs the callbacks; only the chief writes into --logdir
    # (the others into a temporary folder beside it, removed afterwards).
    with worker_logdir(args.logdir, strategy) as logdir:
        history = model.fit(
            dataset,
            epochs=args.steps // args.steps_per_epoch,
            steps_per_epoch=args.steps_per_epoch,
            callbacks=[TrainingTensorBoard(logdir, args.batch_size)],
            verbose=2,
        )
    print(
        f"worker {resolver.task_id} of {strategy.num_replicas_in_sync}: "
        f"loss {history.history['loss'][-1]:.4f}"
    )
    if chief:
        kbi.save_checkpoint(
            model.encoder, f"{args.logdir}/encoder", vocab=args.vocab,
            overwrite=True,
        )  # fmt: skip
        print(f"encoder: {args.logdir}/encoder")


if __name__ == "__main__":
    main()
