"""tf.distribute: strategy factory, MirroredStrategy with XLA, 2 workers.

Global batch semantics (what these tests pin down): the dataset given to
`fit` yields global batches; each step splits one over all replicas of all
workers and applies one update with the all-reduced gradient, identical on
every replica, so every worker ends with bit-identical weights.
"""

import json
import os
import socket
import subprocess
import sys
import time

import pytest

from keras_bert_impl.training.distribute import check_tf_config
from keras_bert_impl.training.distribute import get_strategy

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


@pytest.mark.large
def test_two_workers_end_bit_identical(tmp_path):
    """Two MultiWorkerMirroredStrategy processes on 127.0.0.1, model.fit."""
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
    for index, (process, _) in enumerate(processes):
        log = (tmp_path / f"worker{index}.log").read_text(errors="replace")
        assert process.returncode == 0, log[-3000:]
    reports = [
        json.loads((tmp_path / f"report{i}.json").read_text()) for i in (0, 1)
    ]
    assert reports[0]["replicas"] == 2
    assert reports[0]["step"] == reports[1]["step"] == 3
    assert reports[0]["sha256"] == reports[1]["sha256"]
    assert reports[0]["loss"] == reports[1]["loss"]
    print(f"two-worker fit: {time.monotonic() - start:.1f}s")
