"""Shared pytest configuration: markers, the tiny config, seeding."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402


def pytest_addoption(parser):
    parser.addoption(
        "--run-large",
        action="store_true",
        default=False,
        help="also run tests marked `large` (slow training, export matrix)",
    )


# Folders whose conftest holds session fixtures (exports, corpora, vocabularies)
# that several of their files share: under pytest-xdist (`.ci/run`, `-n 2`)
# their tests run on one worker, so each fixture is built once. Every other
# test file goes to one worker as a whole (its module fixtures built once).
_SHARED_FIXTURE_FOLDERS = (
    "data_pipeline",
    "export",
    "reliability",
    "tokenization",
)


def work_unit(nodeid):
    """The xdist work unit of a test: its shared-fixture folder (e.g.
    `tests/export`), or its file (`tests/training/test_resume.py`)."""
    path = nodeid.split("::", 1)[0]
    parts = path.split("/")
    if len(parts) > 2 and parts[1] in _SHARED_FIXTURE_FOLDERS:
        return "/".join(parts[:2])
    return path


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    # `--dist loadgroup` would do this from marks, but pytest-xdist 3.8
    # renames the node id through an attribute pytest 9.2 no longer reads.
    from xdist.scheduler import LoadScopeScheduling

    class FolderScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid):
            return work_unit(nodeid)

    return FolderScheduling(config, log)


def pytest_collection_modifyitems(config, items):
    run_large = config.getoption("--run-large")
    skip_large = pytest.mark.skip(reason="needs --run-large")
    has_gpu = None
    for item in items:
        if "large" in item.keywords and not run_large:
            item.add_marker(skip_large)
        if "gpu" in item.keywords:
            if has_gpu is None:
                import tensorflow as tf

                has_gpu = bool(tf.config.list_physical_devices("GPU"))
            if not has_gpu:
                item.add_marker(pytest.mark.skip(reason="no GPU visible"))


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1337)
    yield


TINY = dict(
    vocabulary_size=32,
    hidden_dim=16,
    num_layers=2,
    num_heads=2,
    intermediate_dim=32,
    max_sequence_length=8,
)


@pytest.fixture
def tiny_config():
    """The fast suite's shared tiny `BertConfig` (vocab 32, width 16)."""
    from keras_bert_impl import BertConfig

    return BertConfig(**TINY)


@pytest.fixture
def tiny_inputs():
    """Batch 2, length 8, with padding in the second row and a segment B."""
    token_ids = np.array(
        [[2, 10, 11, 12, 3, 20, 21, 3], [2, 13, 14, 3, 0, 0, 0, 0]], "int32"
    )
    segment_ids = np.array(
        [[0, 0, 0, 0, 0, 1, 1, 1], [0, 0, 0, 0, 0, 0, 0, 0]], "int32"
    )
    return {
        "token_ids": token_ids,
        "segment_ids": segment_ids,
        "padding_mask": (token_ids != 0).astype("int32"),
    }
