"""tf.distribute: strategy factory, MirroredStrategy with XLA, 2 workers.

Global batch semantics (what these tests pin down): the dataset given to
`fit` yields global batches; each step splits one over all replicas of all
workers and applies one update with the all-reduced gradient, identical on
every replica, so every worker ends with bit-identical weights. Only the
chief writes into the run folder; other workers write into a temporary
folder removed at the end.
"""

import glob
import json
import os
import socket
import subprocess
import sys
import time

import pytest

from keras_bert_impl.training.callbacks import latest_checkpoint_step
from keras_bert_impl.training.distribute import check_tf_config
from keras_bert_impl.training.distribute import get_strategy
from tests.training.conftest import tiny_run_config

TIMEOUT = 420


def _env(**extra):
    return dict(
        os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=os.getcwd(), **extra
    )


def _free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


class TestGetStrategy:
    def test_default(self):
        assert get_strategy().num_replicas_in_sync == 1

    def test_unknown(self):
        with pytest.raises(ValueError, match="Unknown strategy"):
            get_strategy("horovod")

    @pytest.mark.parametrize("address", ["", "local"])
    def test_tpu_without_tpu_is_a_clear_error(self, address):
        # No TPU exists where these tests run (the resolver finds no TPU
        # name for "", and "local" has no TPU device): the message names
        # the address tried and what to pass instead.
        import tensorflow as tf

        if tf.config.list_physical_devices("TPU"):
            pytest.skip("a TPU is attached")
        with pytest.raises(ValueError) as error:
            get_strategy("tpu", tpu=address)
        message = str(error.value)
        assert f"found no TPU at tpu_address={address!r}" in message
        assert "tpu_address='local'" in message
        assert "grpc://host:8470" in message

    @pytest.mark.parametrize(
        "tf_config, match",
        [
            (None, "TF_CONFIG unset"),
            ("{", "not valid JSON"),
            ('{"cluster": {}}', "cluster.worker"),
            (
                '{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", '
                '"index": 3}}',
                "task.index",
            ),
        ],
    )
    def test_bad_tf_config(self, tf_config, match):
        with pytest.raises(ValueError, match=match):
            check_tf_config(tf_config)


@pytest.mark.large
def test_mirrored_two_cpus_with_xla(tmp_path):
    report = tmp_path / "report.json"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.training.mirrored_script",
            str(report),
            str(tmp_path),
        ],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        output, _ = process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, output.decode(errors="replace")[-3000:]
    result = json.loads(report.read_text())
    assert "divisible by the 2 replicas" in result["batch_error"]
    assert not result["logdir_created"]  # refused before anything started
    assert result["replicas"] == 2 and result["jit_compile"]
    assert result["step"] == 3 and result["finite"]


def _event_files(folder):
    pattern = os.path.join(folder, "**", "events.out.tfevents.*")
    return sorted(glob.glob(pattern, recursive=True))


@pytest.mark.large
def test_two_workers_end_bit_identical(tmp_path):
    """Two MultiWorkerMirroredStrategy processes on 127.0.0.1 run
    `pretrain(strategy="multi_worker")` (model.fit) on one run folder:
    bit-identical weights, and only the chief (worker 0) writes there."""
    config = tiny_run_config(tmp_path, strategy="multi_worker")
    config_path = tmp_path / "config.json"
    config.to_json(str(config_path))
    workers = [f"127.0.0.1:{p}" for p in _free_ports(2)]
    processes = []
    start = time.monotonic()
    try:
        for index in range(2):
            tf_config = {
                "cluster": {"worker": workers},
                "task": {"type": "worker", "index": index},
            }
            log = open(tmp_path / f"worker{index}.log", "wb")  # noqa: SIM115
            processes.append(
                (
                    subprocess.Popen(
                        [
                            sys.executable,
                            "-m",
                            "tests.training.multi_worker_script",
                            str(tmp_path / f"report{index}.json"),
                            str(config_path),
                        ],
                        env=_env(TF_CONFIG=json.dumps(tf_config)),
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    ),
                    log,
                )
            )
        for process, _ in processes:
            remaining = TIMEOUT - (time.monotonic() - start)
            process.wait(timeout=max(remaining, 1))
    finally:
        for process, log in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
            log.close()
    elapsed = time.monotonic() - start
    for index, (process, _) in enumerate(processes):
        log = (tmp_path / f"worker{index}.log").read_text(errors="replace")
        assert process.returncode == 0, log[-3000:]
    reports = [
        json.loads((tmp_path / f"report{i}.json").read_text()) for i in (0, 1)
    ]
    assert reports[0]["replicas"] == 2
    assert reports[0]["step"] == reports[1]["step"] == config.steps
    assert reports[0]["sha256"] == reports[1]["sha256"]
    assert reports[0]["loss"] == reports[1]["loss"]
    assert reports[0]["val_loss"] == reports[1]["val_loss"]

    # Only the chief's files are in the run folder: every event file there
    # carries worker 0's pid (`events.out.tfevents.<time>.<host>.<pid>...`).
    chief_pid = processes[0][0].pid
    assert reports[0]["pid"] == chief_pid
    events = _event_files(config.logdir)
    for sub in ("train", "validation"):
        assert _event_files(os.path.join(config.logdir, sub)), sub
    for path in events:
        assert f".{chief_pid}." in os.path.basename(path), path
    checkpoints = os.path.join(config.logdir, "checkpoints")
    assert latest_checkpoint_step(checkpoints) == config.steps
    # Worker 1 wrote its own events into workertemp_1 beside the run
    # folder, which was gone when `pretrain` returned; the chief had none.
    assert reports[0]["temp_events_at_train_end"] == []
    temp_events = reports[1]["temp_events_at_train_end"]
    assert any(os.sep + "train" + os.sep in p for p in temp_events)
    assert all("workertemp_1" in p for p in temp_events)
    assert not reports[1]["temp_folder_left"]
    assert not glob.glob(str(tmp_path / "workertemp_*"))
    print(f"two-worker pretrain: {elapsed:.1f}s")
