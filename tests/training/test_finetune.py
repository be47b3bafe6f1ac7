"""The fine-tuning recipe: defaults, schedule, decay exclusions, `finetune`
end to end (run folder, TensorBoard, reload), starts from checkpoints, and
every misuse error."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from keras_bert_impl import BertConfig
from keras_bert_impl import BertTokenizer
from keras_bert_impl import assets
from keras_bert_impl import build_encoder
from keras_bert_impl import save_checkpoint
from keras_bert_impl.models import BertClassifier
from keras_bert_impl.training.finetune import FinetuneConfig
from keras_bert_impl.training.finetune import build_task_model
from keras_bert_impl.training.finetune import create_finetune_optimizer
from keras_bert_impl.training.finetune import finetune
from keras_bert_impl.training.finetune import load_finetuned
from tests.models.test_tasks import _rotten_tomatoes

UNCASED_VOCAB = "tests/data/vocab/uncased.txt"


def test_recipe_defaults():
    config = FinetuneConfig()
    assert config.learning_rate == 3e-5
    assert (config.epochs, config.batch_size) == (3, 32)
    assert config.warmup_ratio == 0.1 and config.weight_decay == 0.01
    assert config.dropout == 0.1 and config.clipnorm == 1.0
    assert FinetuneConfig.from_dict(config.to_dict()) == config


def test_schedule_warmup_then_linear_decay_to_zero():
    opt = create_finetune_optimizer(total_steps=200, learning_rate=5e-5)
    assert type(opt).__name__ == "AdamW"
    assert opt.global_clipnorm == 1.0 and opt.epsilon == 1e-6
    schedule = opt._learning_rate
    lr = lambda t: float(schedule(t))  # noqa: E731
    assert lr(0) == 0.0
    assert lr(10) == pytest.approx(2.5e-5)  # half way through warmup
    assert lr(20) == pytest.approx(5e-5)  # end of warmup (10% of 200)
    assert lr(110) == pytest.approx(2.5e-5)  # half way through decay
    assert lr(200) == 0.0 and lr(250) == 0.0


def test_decay_excludes_layer_norm_and_biases(tiny_config, tiny_inputs):
    model = BertClassifier(build_encoder(tiny_config), num_classes=2)
    model(tiny_inputs)
    opt = create_finetune_optimizer(total_steps=10)
    decayed, kept = [], []
    for v in model.trainable_variables:
        (decayed if opt._use_weight_decay(v) else kept).append(v.path)
    assert kept and decayed
    for path in kept:
        assert path.endswith(("bias", "gamma", "beta")), path
    for path in decayed:
        assert path.endswith(("kernel", "embeddings")), path
    assert "logits/kernel" in decayed
    assert "embeddings/layer_norm/gamma" in kept


def _rt_datasets(tokenizer, n=48, max_length=24):
    texts, labels = _rotten_tomatoes(n)
    ds = tf.data.Dataset.from_tensor_slices((texts, labels))
    ds = ds.map(lambda t, y: (tokenizer.encode(t, max_length=max_length), y))
    return ds.take(n - 16), ds.skip(n - 16)


def _tiny_uncased_config(tokenizer):
    return BertConfig.preset(
        "tiny", vocabulary_size=tokenizer.vocabulary_size, num_layers=1,
        hidden_dim=32, num_heads=2, intermediate_dim=64,
        max_sequence_length=32,
    )  # fmt: skip


@pytest.mark.large
def test_finetune_end_to_end(tmp_path):
    """Real snippets, unbatched datasets: the run folder holds everything,
    the learning rate ends at 0, TensorBoard has train and validation
    scalars, and the saved models reload with the label map."""
    from tensorboard.backend.event_processing.event_accumulator import (
        EventAccumulator,
    )

    from keras_bert_impl.training.callbacks import current_learning_rate

    tokenizer = BertTokenizer(UNCASED_VOCAB)
    train, evaluation = _rt_datasets(tokenizer)
    model = build_task_model(
        "classify", bert_config=_tiny_uncased_config(tokenizer),
        label_names=["fresh", "rotten"], vocab=tokenizer,
    )  # fmt: skip
    out = tmp_path / "run"
    # XLA asked for (a task model's "auto" is no XLA on CPU): the seeded
    # run whose loss falls over these 4 epochs was set up under XLA.
    config = FinetuneConfig(
        learning_rate=3e-3, epochs=4, batch_size=8, jit_compile=True
    )
    history = finetune(
        model, train, evaluation, config=config, output_dir=out,
        tokenizer=tokenizer, verbose=0,
    )  # fmt: skip
    logs = history.history
    assert len(logs["loss"]) == 4 and "val_accuracy" in logs
    assert logs["loss"][-1] < logs["loss"][0], logs["loss"]
    # 32 examples / 8 = 4 steps an epoch, 16 updates; warmup 1 update.
    assert model.optimizer.iterations.numpy() == 16
    assert current_learning_rate(model) == 0.0
    for name in (
        "model.keras", "best.keras", "finetune_config.json", "vocab.txt",
        "tokenizer_config.json", "eval_results.json",
    ):  # fmt: skip
        assert (out / name).is_file(), name
    record = json.loads((out / "finetune_config.json").read_text())
    assert record["epochs"] == 4 and record["task"] == "classify"
    assert record["run"]["label_names"] == ["fresh", "rotten"]
    assert record["run"]["total_steps"] == 16
    reloaded, tok = load_finetuned(out)
    assert reloaded.label_names == ("fresh", "rotten")
    assert tok.vocabulary_size == tokenizer.vocabulary_size
    batch = next(iter(evaluation.batch(16)))[0]
    # The trained model predicts with XLA, the reloaded (uncompiled) one
    # without: equal up to float32 rounding.
    np.testing.assert_allclose(
        model.predict(batch, verbose=0),
        reloaded.predict(batch, verbose=0),
        atol=1e-6,
    )
    best, _ = load_finetuned(out, best=True)
    assert best.label_names == ("fresh", "rotten")
    for split, tags in (("train", {"loss", "accuracy", "learning_rate",
                                   "grad_norm", "weight_norm", "update_ratio",
                                   "tokens_per_second"}),
                        ("validation", {"loss", "accuracy"})):  # fmt: skip
        events = EventAccumulator(str(out / split)).Reload()
        assert tags <= set(events.Tags()["tensors"]), events.Tags()
    lrs = EventAccumulator(str(out / "train")).Reload().Tensors("learning_rate")
    assert tf.make_ndarray(lrs[-1].tensor_proto) == 0.0
    assert max(tf.make_ndarray(e.tensor_proto) for e in lrs) > 0


@pytest.mark.large
def test_finetune_token_classifier_with_sample_weights(tiny_config):
    """A batched (features, labels, sample_weight) dataset trains as is."""
    ids = np.array([[2, 10, 11, 3, 0, 0], [2, 13, 14, 15, 3, 0]] * 4, "int32")
    x = {"token_ids": ids, "segment_ids": 0 * ids,
         "padding_mask": (ids > 0).astype("int32")}  # fmt: skip
    y = np.where(ids == 11, 1, 0).astype("int32")
    w = (ids > 3).astype("float32")
    ds = tf.data.Dataset.from_tensor_slices((x, y, w)).batch(4)
    model = build_task_model("ner", bert_config=tiny_config,
                             label_names=["O", "B-X"])  # fmt: skip
    history = finetune(model, ds, ds, FinetuneConfig(learning_rate=1e-2,
                       epochs=3), verbose=0)  # fmt: skip
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_build_task_model_every_task(tiny_config):
    kinds = {
        "classify": "BertClassifier",
        "pair": "BertClassifier",
        "regress": "BertRegressor",
        "ner": "BertTokenClassifier",
        "squad": "BertQuestionAnswering",
        "choice": "BertMultipleChoice",
    }
    for task, name in kinds.items():
        model = build_task_model(task, bert_config=tiny_config, num_classes=3,
                                 dropout=0.2)  # fmt: skip
        assert type(model).__name__ == name
        assert model.dropout == 0.2


def test_build_task_model_from_tf1_checkpoint(tiny_config, tiny_inputs,
                                              tmp_path):  # fmt: skip
    encoder = build_encoder(tiny_config)
    folder = save_checkpoint(encoder, tmp_path / "tf1", format="tf1")
    model = build_task_model("squad", init=folder)
    np.testing.assert_allclose(
        np.asarray(model.encoder(tiny_inputs)["sequence_output"]),
        np.asarray(encoder(tiny_inputs)["sequence_output"]),
        atol=1e-6,
    )


def _minilm():
    return assets.asset_path(assets.MINILM, assets.MINILM_DIR)


def test_minilm_vocab_mismatch_is_an_error():
    with pytest.raises(ValueError, match="has 32 tokens but the checkpoint"):
        build_task_model("classify", init=_minilm(), num_classes=2,
                         vocab="tests/data/vocab/tiny.txt")  # fmt: skip


@pytest.mark.large
def test_start_from_real_minilm(tmp_path):
    """The real all-MiniLM-L6-v2: the encoder is the checkpoint's (its
    committed reference pooled output), and two fine-tuning steps run."""
    folder = _minilm()
    tokenizer = BertTokenizer(os.path.join(folder, "vocab.txt"))
    model = build_task_model("classify", init=folder,
                             label_names=["fresh", "rotten"])  # fmt: skip
    assert model.encoder.vocabulary_size == 30522
    assert model.encoder.num_layers == 6 and model.encoder.hidden_dim == 384
    from keras_bert_impl import load_checkpoint

    reference, _ = load_checkpoint(folder)
    texts, labels = _rotten_tomatoes(8)
    x = tokenizer.encode(texts, max_length=32)
    np.testing.assert_array_equal(
        np.asarray(model.encoder(x)["pooled_output"]),
        np.asarray(reference(x)["pooled_output"]),
    )
    ds = tf.data.Dataset.from_tensor_slices((x, labels)).batch(4)
    history = finetune(model, ds, config=FinetuneConfig(epochs=1),
                       output_dir=tmp_path / "run", tokenizer=tokenizer,
                       verbose=0)  # fmt: skip
    assert np.isfinite(history.history["loss"][0])
    reloaded, _ = load_finetuned(tmp_path / "run")
    np.testing.assert_allclose(
        reloaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6
    )


def _ds(n):
    ids = np.full((n, 6), 5, "int32")
    x = {"token_ids": ids, "segment_ids": 0 * ids, "padding_mask": 1 + 0 * ids}
    return tf.data.Dataset.from_tensor_slices((x, np.zeros(n, "int32")))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(learning_rate=0.0), "learning_rate"),
        (dict(epochs=0), "epochs"),
        (dict(batch_size=2.5), "batch_size"),
        (dict(warmup_ratio=1.0), "warmup_ratio"),
        (dict(dropout=1.5), "dropout"),
        (dict(steps_per_epoch=0), "steps_per_epoch"),
    ],
)
def test_bad_config(kwargs, match):
    with pytest.raises(ValueError, match=match):
        FinetuneConfig(**kwargs)
    with pytest.raises(ValueError, match="Unknown FinetuneConfig"):
        FinetuneConfig.from_dict({"lr": 1})


def test_finetune_misuse(tiny_config):
    model = BertClassifier(build_encoder(tiny_config), num_classes=2)
    with pytest.raises(ValueError, match="`train_ds` is empty"):
        finetune(model, _ds(0), verbose=0)
    with pytest.raises(ValueError, match="`eval_ds` is empty"):
        finetune(model, _ds(4), _ds(4).take(0), verbose=0)
    with pytest.raises(ValueError, match="steps_per_epoch"):
        finetune(model, _ds(4).filter(lambda x, y: True), verbose=0)
    with pytest.raises(ValueError, match="tf.data.Dataset"):
        finetune(model, [1, 2], verbose=0)
    with pytest.raises(ValueError, match="token_ids"):
        finetune(model, tf.data.Dataset.range(3), verbose=0)
    with pytest.raises(ValueError, match="FinetuneConfig"):
        finetune(model, _ds(4), config={"epochs": 1}, verbose=0)
    with pytest.raises(ValueError, match="task model"):
        finetune("model", _ds(4), verbose=0)
    with pytest.raises(ValueError, match="30522 tokens but the model"):
        finetune(model, _ds(4), tokenizer=UNCASED_VOCAB, verbose=0)
    with pytest.raises(ValueError, match="Unknown task 'classification'"):
        build_task_model("classification", bert_config=tiny_config)
    with pytest.raises(ValueError, match="Pass `init`"):
        build_task_model("squad")
    with pytest.raises(ValueError, match="the model config"):
        build_task_model("squad", bert_config=tiny_config,
                         vocab=UNCASED_VOCAB)  # fmt: skip
    with pytest.raises(ValueError, match="total_steps"):
        create_finetune_optimizer(total_steps=0)
    with pytest.raises(FileNotFoundError, match="No fine-tuned model"):
        load_finetuned("/nonexistent/run")


def test_loss_scale_is_logged_under_mixed_float16(tmp_path):
    """Under `mixed_float16` the loss scale is a health number too, and the
    gradient norm is reported unscaled (finite, not scale-sized)."""
    from tensorboard.backend.event_processing.event_accumulator import (
        EventAccumulator,
    )

    tokenizer = BertTokenizer(UNCASED_VOCAB)
    train, _ = _rt_datasets(tokenizer, n=32)
    model = build_task_model(
        "classify", bert_config=_tiny_uncased_config(tokenizer),
        label_names=["fresh", "rotten"], vocab=tokenizer,
        dtype="mixed_float16",
    )  # fmt: skip
    out = tmp_path / "run"
    finetune(
        model, train, config=FinetuneConfig(epochs=1, batch_size=8,
                                            dtype="mixed_float16",
                                            jit_compile=False),
        output_dir=out, tokenizer=tokenizer, verbose=0,
    )  # fmt: skip
    events = EventAccumulator(str(out / "train")).Reload()
    values = {
        tag: float(tf.make_ndarray(events.Tensors(tag)[-1].tensor_proto))
        for tag in ("loss_scale", "grad_norm")
    }
    assert values["loss_scale"] >= 1.0, values  # Keras starts at 2**15
    assert 0 < values["grad_norm"] < 1e3, values
