"""TF Serving layout: integer versions, atomic writes, no silent overwrite."""

import os

import pytest
import tensorflow as tf

from keras_bert_impl.export import export_savedmodel
from tests.export.conftest import tiny_encoder


@pytest.fixture(scope="module")
def encoder():
    return tiny_encoder()


@pytest.mark.parametrize("version", ["latest", "v1", "1.0", "-1"])
def test_version_must_be_an_integer(encoder, tokenizer, tmp_path, version):
    with pytest.raises(ValueError, match="integer version.*Received: path="):
        export_savedmodel(encoder, tokenizer, tmp_path / "m" / version)


def test_existing_version_is_kept(encoder_export, tokenizer):
    encoder, path = encoder_export
    before = sorted(os.listdir(path))
    with pytest.raises(FileExistsError, match="overwrite=True"):
        export_savedmodel(encoder, tokenizer, path)
    assert sorted(os.listdir(path)) == before


def test_bad_arguments(encoder, tokenizer, tmp_path):
    with pytest.raises(ValueError, match="Received: max_length=17"):
        export_savedmodel(encoder, tokenizer, tmp_path / "m" / "1",
                          max_length=17)  # fmt: skip
    with pytest.raises(ValueError, match="Received: max_length=2"):
        export_savedmodel(encoder, tokenizer, tmp_path / "m" / "1",
                          max_length=2)  # fmt: skip
    with pytest.raises(ValueError, match="Received: task='nope'"):
        export_savedmodel(encoder, tokenizer, tmp_path / "m" / "1",
                          task="nope")  # fmt: skip
    import keras_bert_impl.models as tasks

    classifier = tasks.BertClassifier(encoder, num_classes=3)
    with pytest.raises(ValueError, match="3 output classes but 2 label"):
        export_savedmodel(
            classifier, tokenizer, tmp_path / "m" / "1",
            task="classifier", label_names=["a", "b"],
        )  # fmt: skip
    assert not os.path.exists(tmp_path / "m" / "1")


def test_failed_export_leaves_nothing(encoder, tokenizer, tmp_path,
                                      monkeypatch):  # fmt: skip
    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(tf.saved_model, "save", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        export_savedmodel(encoder, tokenizer, tmp_path / "m" / "2")
    assert os.listdir(tmp_path / "m") == []


def test_overwrite_replaces_a_version_atomically(encoder, tokenizer, tmp_path):
    path = tmp_path / "m" / "7"
    export_savedmodel(encoder, tokenizer, path, warmup=False,
                      jit_compile=False)  # fmt: skip
    (path / "stale").write_text("from the old version")
    export_savedmodel(encoder, tokenizer, path, overwrite=True,
                      jit_compile=False)  # fmt: skip
    # Only the version itself: no temporary or old directory left beside.
    assert os.listdir(tmp_path / "m") == ["7"]
    assert not (path / "stale").exists()
    assert (path / "saved_model.pb").is_file()
    assert (path / "assets.extra" / "tf_serving_warmup_requests").is_file()
    mode = os.stat(path).st_mode & 0o777
    assert mode & 0o055 == 0o055 & ~_umask()  # readable by a server user


def _umask():
    umask = os.umask(0)
    os.umask(umask)
    return umask
