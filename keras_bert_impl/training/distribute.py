"""Data-parallel training on `tf.distribute`, with XLA inside each replica.

Keras 3.15's `fit` compiles the whole step — `strategy.run`, the gradient
all-reduce and the metric reduction — as one XLA function when
`jit_compile=True`. XLA cannot compile cross-device collectives on CPU, so
`MirroredStrategy` over several CPU devices fails; and under
`MultiWorkerMirroredStrategy` Keras' `reduce_per_replica` fails on its own
(keras-team/keras#20329, #20585: nested per-replica batches, scalar logs
reduced along axis 0).

`ReplicaXLAMixin` replaces Keras' train and test functions with the layout
tf.distribute expects and XLA can compile:

1. `strategy.run` calls, on each replica, an XLA-compiled function that
   computes the forward pass, the losses (the per-output loss metrics are
   updated there) and the gradients of the replica's share of the batch;
2. still on the replica but outside XLA, the gradients are summed over all
   replicas with one `ReplicaContext.all_reduce` (NCCL/ring collectives,
   gRPC between workers), then the optimizer applies them: gradient
   accumulation, global-norm clipping and the loss-scale finiteness check
   all see the global gradient, identical on every replica, so every
   replica makes the same update (Keras' own optimizer clips each
   replica's partial gradient before reducing; here the reduction comes
   first and the optimizer's own is skipped);
3. back in cross-replica context, the logs are the metrics read once:
   their sync-on-read variables are summed over replicas and workers, so
   the logged losses and accuracies are exact global-batch values on
   every worker.

Global batch semantics: the dataset given to `fit` yields *global*
batches; the strategy splits each one over `num_replicas_in_sync`
replicas (`experimental_distribute_dataset`), and one `fit` step updates
the weights once with the mean gradient over the whole global batch. With
several workers, every worker builds the same pipeline and tf.distribute
shards it (`AutoShardPolicy.DATA` when no files to split): a worker reads
the global batch and keeps its own replicas' rows.

Files: only the chief (`is_chief`) writes into the run folder; the other
workers run the same callbacks into a temporary folder of their own that
is removed at the end (`worker_logdir`), the Keras/TF multi-worker
convention.
"""

import contextlib
import json
import os
import shutil

import tensorflow as tf

from keras_bert_impl.health import health_of
from keras_bert_impl.health import sync_health

STRATEGIES = ("default", "one_device", "mirrored", "multi_worker", "tpu")


def get_strategy(
    name: str = "default",
    devices: list[str] | None = None,
    tpu: str | None = None,
) -> tf.distribute.Strategy:
    """Returns a `tf.distribute.Strategy` by name.

    Args:
        name: str. One of:
            `"default"`: no distribution (the default strategy, one device);
            `"one_device"`: `OneDeviceStrategy` on `devices[0]` (default
            the first GPU, else the CPU);
            `"mirrored"`: `MirroredStrategy` over `devices` (default all
            local GPUs, else the CPU);
            `"multi_worker"`: `MultiWorkerMirroredStrategy` configured from
            the `TF_CONFIG` environment variable (cluster and task);
            `"tpu"`: `TPUStrategy` on the TPU at `tpu` (see below).
        devices: optional list of device names, e.g.
            `["/cpu:0", "/cpu:1"]`.
        tpu: optional str, for `"tpu"`: the TPU's name or gRPC address
            (`"grpc://10.0.0.2:8470"`), `"local"` for a TPU attached to
            this VM (Cloud TPU VM), or `""`/`None` to let
            `TPUClusterResolver` find it (the `TPU_NAME` environment
            variable, Cloud TPU metadata).

    Returns:
        The strategy. Create the model, optimizer and metrics inside its
        `scope()` (`pretrain` does).

    Raises:
        ValueError: unknown name, `"multi_worker"` without a valid
            `TF_CONFIG`, or `"tpu"` when no TPU can be reached (the message
            says which address was tried and what to pass instead).

    Example:
    >>> get_strategy("default").num_replicas_in_sync
    1
    """
    if name not in STRATEGIES:
        raise ValueError(
            f"Unknown strategy. Expected one of {STRATEGIES}. Received: "
            f"strategy={name!r}"
        )
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "one_device":
        device = (devices or [None])[0]
        if device is None:
            device = (
                "/gpu:0" if tf.config.list_logical_devices("GPU") else "/cpu:0"
            )
        return tf.distribute.OneDeviceStrategy(device)
    if name == "mirrored":
        return tf.distribute.MirroredStrategy(devices)
    if name == "multi_worker":
        check_tf_config(os.environ.get("TF_CONFIG"))
        return tf.distribute.MultiWorkerMirroredStrategy()
    return _tpu_strategy(tpu or None)


def _tpu_strategy(tpu):
    """`TPUStrategy` on `tpu`, or a `ValueError` saying how to reach one."""
    # TPUClusterResolver raises ValueError ("Please provide a TPU Name")
    # when it cannot auto-detect a TPU, and initialize_tpu_system raises
    # NotFoundError when the cluster has no TPU device ("local" on a
    # machine without one). This is the path tested here: no TPU exists on
    # the machines this package is developed on.
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, RuntimeError, tf.errors.OpError) as e:
        # The first sentence: NotFoundError goes on with kernel listings.
        reason = " ".join(str(e).split()).split(". ")[0].rstrip(".")[:200]
        raise ValueError(
            f"strategy='tpu' found no TPU at tpu_address={tpu or ''!r} "
            f"({type(e).__name__}: {reason}). On a Cloud TPU VM pass "
            "tpu_address='local' (--tpu local); for a remote TPU pass its "
            "name or grpc://host:8470 address; without a TPU choose "
            "strategy 'default', 'mirrored' or 'multi_worker'."
        ) from None
    return tf.distribute.TPUStrategy(resolver)


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes the run's logs and checkpoints.

    tf.distribute's own answer (`strategy.extended.should_checkpoint`):
    `True` for every single-process strategy, and under
    `MultiWorkerMirroredStrategy` only for the `chief` task, or worker 0
    when the cluster has no chief.

    Example:
    >>> is_chief(get_strategy("default"))
    True
    """
    return bool(strategy.extended.should_checkpoint)


@contextlib.contextmanager
def worker_logdir(logdir: str, strategy: tf.distribute.Strategy):
    """The folder this worker writes to; a temporary one off the chief.

    The Keras/TF multi-worker convention ("Multi-worker training with
    Keras"; tf.keras' `distributed_file_utils.write_dirpath`): every worker
    runs the same callbacks (saving may need all of them to take part), but
    only the chief writes into `logdir`; any other worker writes into
    `<parent of logdir>/workertemp_<task id>/<name of logdir>`, outside the
    run folder so TensorBoard never shows it, and that folder is deleted
    when the block exits, even on error.

    Args:
        logdir: str. The run folder.
        strategy: the run's `tf.distribute.Strategy`.

    Yields:
        str: `logdir` on the chief, else the temporary folder.

    Example:
    >>> with worker_logdir("runs/x", get_strategy("default")) as path:
    ...     path
    'runs/x'
    """
    if is_chief(strategy):
        yield logdir
        return
    task_id = getattr(strategy.cluster_resolver, "task_id", None)
    parent, name = os.path.split(os.path.abspath(logdir))
    temp_root = os.path.join(parent, f"workertemp_{task_id}")
    path = os.path.join(temp_root, name)
    os.makedirs(path, exist_ok=True)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
        with contextlib.suppress(OSError):
            os.rmdir(temp_root)  # only if no other run uses it


def check_tf_config(text: str | None) -> dict:
    """Validates a `TF_CONFIG` JSON string for multi-worker training.

    Raises:
        ValueError: unset, not JSON, or without a `cluster.worker` list and
            a `task` whose index is in it.

    Example:
    >>> tf_config = '''{"cluster": {"worker": ["localhost:1", "localhost:2"]},
    ...                 "task": {"type": "worker", "index": 1}}'''
    >>> check_tf_config(tf_config)["task"]["index"]
    1
    """
    if not text:
        raise ValueError(
            "strategy='multi_worker' needs the TF_CONFIG environment "
            "variable (cluster and task of this worker). Received: "
            "TF_CONFIG unset"
        )
    try:
        config = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(
            f"TF_CONFIG is not valid JSON ({e}). Received: {text[:200]}"
        ) from None
    workers = config.get("cluster", {}).get("worker")
    task = config.get("task", {})
    if not isinstance(workers, list) or not workers:
        raise ValueError(
            "TF_CONFIG needs cluster.worker, a list of host:port. "
            f"Received: {text[:200]}"
        )
    index = task.get("index")
    if task.get("type") not in ("worker", "chief") or not (
        isinstance(index, int) and 0 <= index < len(workers)
    ):
        raise ValueError(
            "TF_CONFIG needs task.type 'worker' and a task.index within "
            f"cluster.worker. Received: {text[:200]}"
        )
    return config


def _skip_optimizer_all_reduce(optimizer):
    """Stops Keras' optimizer from all-reducing already reduced gradients."""

    def identity(grads_and_vars):
        return list(grads_and_vars)

    for opt in (optimizer, getattr(optimizer, "inner_optimizer", None)):
        if opt is not None:
            opt._all_reduce_sum_gradients = identity


def _unpack(data):
    if isinstance(data, tuple | list):
        data = tuple(data) + (None,) * (3 - len(data))
        return data[0], data[1], data[2]
    return data, None, None


def _batch_size(x):
    first = tf.nest.flatten(x)[0]
    return tf.shape(first)[0]


def _dense(gradient):
    if isinstance(gradient, tf.IndexedSlices):
        return tf.convert_to_tensor(gradient)
    return gradient


class ReplicaXLAMixin:
    """`fit`/`evaluate` with XLA per replica and collectives outside XLA.

    Mix it in before `keras.Model` (or a functional subclass such as
    `BertPretrainer`). With one replica (the default strategy,
    `OneDeviceStrategy`, or any strategy over one device) the whole step
    (forward, backward, optimizer update and metrics) is one XLA
    function, as in Keras' own step. With several replicas (`MirroredStrategy`,
    `MultiWorkerMirroredStrategy`) or a `TPUStrategy` it runs as described
    in this module's docstring.
    `steps_per_execution` steps run per call; `predict` is Keras' own.
    """

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Keras reduces a sample batch with `strategy.reduce("MEAN", batch)`
        # to build metrics and optimizer from its shapes, which fails for a
        # nested batch under MultiWorkerMirroredStrategy (keras#20329).
        # One replica's values have the shapes needed.
        strategy = self._distribute_strategy
        if strategy is None:
            return
        if iterator is not None:
            for _, _, it in iterator:
                data_batch = tf.nest.map_structure(
                    lambda v: (
                        strategy.experimental_local_results(v)[0]
                        if isinstance(v, tf.distribute.DistributedValues)
                        else v
                    ),
                    next(it),
                )
                break
        with strategy.scope():
            self._symbolic_build(data_batch=data_batch)

    def _forward_backward(self, x, y, sample_weight):
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self._compute_loss(
                x=x,
                y=y,
                y_pred=y_pred,
                sample_weight=sample_weight,
                training=True,
            )
            scaled = self.optimizer.scale_loss(loss)
        gradients = tape.gradient(scaled, self.trainable_variables)
        return loss, [_dense(g) for g in gradients], y_pred

    def _forward(self, x, y, sample_weight):
        y_pred = self(x, training=False)
        loss = self._compute_loss(
            x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=False
        )
        return loss, y_pred

    def _compiled(self, fn):
        if self.run_eagerly:
            return fn
        return tf.function(
            fn, jit_compile=bool(self.jit_compile), reduce_retracing=True
        )

    def _iterator_function(self, one_step):
        steps = self.steps_per_execution

        def multi_step(iterator):
            logs = one_step(next(iterator))
            for _ in range(steps - 1):
                logs = one_step(next(iterator))
            return logs

        if not self.run_eagerly:
            multi_step = tf.function(multi_step, reduce_retracing=True)

        def function(iterator):
            if isinstance(
                iterator, tf.data.Iterator | tf.distribute.DistributedIterator
            ):
                return multi_step(iterator)
            for data in iterator:  # a Python iterable of batches
                logs = one_step(data)
            return logs

        return function

    def _single_replica(self):
        strategy = self.distribute_strategy
        return strategy.num_replicas_in_sync == 1 and not isinstance(
            strategy, tf.distribute.TPUStrategy
        )

    def make_train_function(self, force=False):
        # Health numbers (health.py) on one replica only (below).
        if getattr(self, "track_health", False) and self._single_replica():
            sync_health(self)
        if self.train_function is not None and not force:
            return self.train_function
        strategy = self.distribute_strategy
        _skip_optimizer_all_reduce(self.optimizer)
        # With one replica there is no collective to keep out of XLA: the
        # whole step (forward, backward, update, metrics) is one XLA
        # function, as in Keras' own step (the update outside XLA made
        # tiny's step 1.8x slower). Unlike Keras' own step, gradients are
        # made dense before the update, so global-norm clipping sees the
        # true norm of an embedding's gradient (an `IndexedSlices` of a
        # gather repeats rows, and `clip_by_global_norm` sums their squares
        # row by row).
        single = self._single_replica()
        # Health numbers (health.py) on one replica: the sums are plain
        # variables, not mirrored ones.
        track = single and getattr(self, "track_health", False)
        health = health_of(self) if track else None
        forward_backward = (
            self._forward_backward
            if single
            else self._compiled(self._forward_backward)
        )

        def replica_step(data):
            x, y, sample_weight = _unpack(data)
            loss, gradients, y_pred = forward_backward(x, y, sample_weight)
            self._loss_tracker.update_state(
                loss * strategy.num_replicas_in_sync,
                sample_weight=_batch_size(x),
            )
            if strategy.num_replicas_in_sync > 1:
                gradients = tf.distribute.get_replica_context().all_reduce(
                    tf.distribute.ReduceOp.SUM, gradients
                )
            variables = self.trainable_variables
            if track:
                health.apply(self.optimizer, gradients, variables)
            else:
                self.optimizer.apply(gradients, variables)
            self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)

        if single:
            replica_step = self._compiled(replica_step)

        def one_step(data):
            strategy.run(replica_step, args=(data,))
            return self.get_metrics_result()

        self.train_function = self._iterator_function(one_step)
        return self.train_function

    def make_test_function(self, force=False):
        if self.test_function is not None and not force:
            return self.test_function
        strategy = self.distribute_strategy
        single = self._single_replica()
        forward = self._forward if single else self._compiled(self._forward)

        def replica_step(data):
            x, y, sample_weight = _unpack(data)
            loss, y_pred = forward(x, y, sample_weight)
            self._loss_tracker.update_state(
                loss * strategy.num_replicas_in_sync,
                sample_weight=_batch_size(x),
            )
            self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)

        if single:
            replica_step = self._compiled(replica_step)

        def one_step(data):
            strategy.run(replica_step, args=(data,))
            return self.get_metrics_result()

        self.test_function = self._iterator_function(one_step)
        return self.test_function
