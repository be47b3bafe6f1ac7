"""`keras_bert_impl.optimizers.AdamW` against `torch.optim.AdamW`."""

import os

import keras
import numpy as np
import pytest

from keras_bert_impl.optimizers import AdamW

REFERENCE = os.path.join(
    os.path.dirname(__file__), os.pardir, "data", "adamw_reference.npz"
)
NAMES = ("kernel", "bias", "gamma")  # only the kernel is decayed


def _run(optimizer_cls):
    """Values after each of the reference's steps, with `optimizer_cls`."""
    ref = np.load(REFERENCE)
    variables = [keras.Variable(ref[f"{k}_init"], name=k) for k in NAMES]
    optimizer = optimizer_cls(
        learning_rate=1e-3,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-6,
        weight_decay=0.01,
    )
    optimizer.exclude_from_weight_decay(var_names=["bias", "gamma"])
    steps = ref["kernel_grads"].shape[0]
    after = {k: [] for k in NAMES}
    for t in range(steps):
        grads = [
            keras.ops.convert_to_tensor(ref[f"{k}_grads"][t]) for k in NAMES
        ]
        optimizer.apply(grads, variables)
        for k, v in zip(NAMES, variables, strict=True):
            after[k].append(np.array(v))
    return ref, {k: np.stack(v) for k, v in after.items()}


class TestAdamW:
    def test_matches_torch_adamw_step_by_step(self):
        ref, after = _run(AdamW)
        for k in NAMES:
            # Updates are ~1e-3 per step; float32 round-off is ~1e-7.
            np.testing.assert_allclose(
                after[k], ref[f"{k}_after"], rtol=0, atol=2e-6, err_msg=k
            )

    def test_keras_adamw_differs_where_gradients_are_small(self):
        """The reference can tell the two placements of epsilon apart."""
        ref, after = _run(keras.optimizers.AdamW)
        worst = max(np.abs(after[k] - ref[f"{k}_after"]).max() for k in NAMES)
        assert worst > 1e-4

    def test_serialization_round_trip(self):
        optimizer = AdamW(learning_rate=2e-5, weight_decay=0.01, epsilon=1e-6)
        config = keras.saving.serialize_keras_object(optimizer)
        assert config["registered_name"] == "keras_bert_impl>AdamW"
        again = keras.saving.deserialize_keras_object(config)
        assert type(again) is AdamW
        assert again.get_config() == optimizer.get_config()

    @pytest.mark.parametrize("jit_compile", [False, True])
    def test_trains_a_keras_model(self, jit_compile):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        model.compile(
            optimizer=AdamW(learning_rate=0.05, weight_decay=0.01),
            loss="mse",
            jit_compile=jit_compile,
        )
        x = np.random.RandomState(0).randn(64, 3).astype("float32")
        y = x @ np.array([[1.0], [-2.0], [0.5]], "float32")
        history = model.fit(x, y, epochs=30, batch_size=16, verbose=0)
        losses = history.history["loss"]
        assert losses[-1] < 0.1 * losses[0]


def test_compiled_model_reloads_in_a_fresh_process(tmp_path):
    """A `.keras` file compiled with the package's optimizer loads, with
    that optimizer and schedule, in a process that imported only
    `keras_bert_impl.models` (which registers them)."""
    import subprocess
    import sys

    from keras_bert_impl import BertClassifier
    from keras_bert_impl import BertConfig
    from keras_bert_impl import build_encoder
    from keras_bert_impl.optimizers import create_optimizer

    config = BertConfig.preset(
        "tiny", vocabulary_size=32, num_layers=1, hidden_dim=16,
        num_heads=2, intermediate_dim=32, max_sequence_length=8,
    )  # fmt: skip
    model = BertClassifier(build_encoder(config), num_classes=2)
    model.compile(optimizer=create_optimizer(1e-3, 10, 1))
    ids = np.array([[2, 7, 9, 3]], "int32")
    x = {"token_ids": ids, "segment_ids": 0 * ids, "padding_mask": 1 + 0 * ids}
    model.fit(x, np.array([1]), verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    code = (
        "import keras, keras_bert_impl.models\n"
        f"m = keras.saving.load_model({str(path)!r})\n"
        "print(type(m.optimizer).__module__, "
        "type(m.optimizer._learning_rate).__name__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    line = out.stdout.strip().splitlines()[-1]
    assert line == "keras_bert_impl.optimizers.adamw WarmupLinearDecay"


def test_sparse_gradients_are_clipped_by_their_true_norm():
    """An embedding gradient with repeated rows clips like its dense sum."""
    import tensorflow as tf

    rows = tf.constant([[3.0, 4.0], [3.0, 4.0]])  # id 1 looked up twice
    sparse = tf.IndexedSlices(rows, tf.constant([1, 1]), tf.constant([3, 2]))
    dense = tf.convert_to_tensor(sparse)  # row 1 = [6, 8]: norm 10
    after = []
    for grad in (sparse, dense):
        v = keras.Variable(np.zeros((3, 2), "float32"))
        opt = AdamW(
            learning_rate=1.0, weight_decay=0.0, global_clipnorm=1.0,
            beta_1=0.0, beta_2=0.0, epsilon=0.0,
        )  # fmt: skip
        # With beta_1 = beta_2 = 0 and no epsilon the update is g / |g|
        # per element, so compare the clipped gradient through m instead.
        opt.apply([grad], [v])
        after.append(np.array(opt._momentums[0]))
    # m = (1 - beta_1) * clipped gradient = the clipped gradient.
    np.testing.assert_allclose(after[0], after[1], atol=1e-7)
    np.testing.assert_allclose(after[1][1], [0.6, 0.8], atol=1e-6)
