"""SIGKILL mid-epoch, resume: same step, optimizer state and final loss."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.training.resume_script import STEPS

TIMEOUT = 600


def _start(tmp_path, mode):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=os.getcwd())
    log = open(tmp_path / f"{mode}.log", "ab")  # noqa: SIM115
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.training.resume_script",
            str(tmp_path),
            mode,
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    ), log


def _state(run):
    with open(os.path.join(run, "checkpoints", "latest.json")) as f:
        latest = json.load(f)
    path = os.path.join(run, "checkpoints", latest["path"], "state.npz")
    with np.load(path) as data:
        return latest["step"], {k: data[k] for k in data.files}


def _final_train_loss(run):
    from tensorboard.backend.event_processing.event_accumulator import (
        EventAccumulator,
    )
    from tensorboard.util.tensor_util import make_ndarray

    events = EventAccumulator(os.path.join(run, "train"))
    events.Reload()
    return {
        e.step: float(make_ndarray(e.tensor_proto))
        for e in events.Tensors("loss")
    }


@pytest.mark.large
def test_sigkill_mid_epoch_then_resume_matches_uninterrupted(tmp_path):
    processes = []
    try:
        # Uninterrupted reference, through the CLI code path.
        reference, log = _start(tmp_path, "cli")
        processes.append((reference, log))
        # Interrupted run: SIGKILL once step 2's checkpoint exists and the
        # run is inside the next epoch (step 3).
        victim, log = _start(tmp_path, "slow")
        processes.append((victim, log))
        run = tmp_path / "slow" / "run"
        progress = tmp_path / "progress"
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline and victim.poll() is None:
            pointer = run / "checkpoints" / "latest.json"
            if pointer.exists() and progress.exists():
                if int(progress.read_text() or 0) >= 3:
                    break
            time.sleep(0.05)
        assert victim.poll() is None, "the run ended before it was killed"
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=30)
        killed_at, _ = _state(run)
        assert killed_at % 2 == 0 and 2 <= killed_at < STEPS
        # Resume: the same command again.
        resumed, log = _start(tmp_path, "slow")
        processes.append((resumed, log))
        assert resumed.wait(timeout=TIMEOUT) == 0
        assert reference.wait(timeout=TIMEOUT) == 0
    finally:
        for process, log in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
            log.close()
    step, state = _state(run)
    ref_step, ref_state = _state(tmp_path / "cli" / "run")
    assert step == ref_step == STEPS
    assert state.keys() == ref_state.keys()
    assert any(k.startswith("optimizer/") for k in state)
    for name in state:  # weights, dropout seeds, Adam moments, iterations
        np.testing.assert_allclose(
            state[name], ref_state[name], rtol=1e-5, atol=1e-7, err_msg=name
        )
    losses = _final_train_loss(run)
    ref_losses = _final_train_loss(tmp_path / "cli" / "run")
    assert sorted(ref_losses) == [2, 4, 6, 8]
    np.testing.assert_allclose(losses[STEPS], ref_losses[STEPS], rtol=1e-5)
