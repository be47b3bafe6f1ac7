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
