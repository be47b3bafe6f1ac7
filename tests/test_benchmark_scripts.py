"""Every benchmark script imports from a fresh checkout and has --help.

The benchmarks run outside CI (they time things, and their peers need the
`bench` extra); this keeps them from rotting: each script's module-level
code (imports, constants, argument parser) runs here. Scripts whose top
level imports torch/transformers (the Hugging Face peers) are only
compiled, as the test extra does not install them.
"""

import contextlib
import importlib.util
import io
import os
import sys

import pytest

from tests.helpers import imports_peers

HERE = os.path.join(os.path.dirname(__file__), "..", "benchmarks")
SCRIPTS = sorted(f for f in os.listdir(HERE) if f.endswith(".py"))


def test_there_are_benchmarks():
    assert "bench_pretrain_step.py" in SCRIPTS and len(SCRIPTS) >= 10


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_imports(script, monkeypatch):
    path = os.path.join(HERE, script)
    if imports_peers(path):
        with open(path, encoding="utf-8") as f:
            compile(f.read(), path, "exec")
        return
    monkeypatch.syspath_prepend(HERE)
    spec = importlib.util.spec_from_file_location(f"_bench_{script[:-3]}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    main = getattr(module, "main", None)
    if main is None:
        return  # a helper module (common.py, finetune_data.py, ...)
    # main() reads sys.argv, or takes argv; it must parse it (a script
    # without a parser would run its whole job here).
    assert "argparse" in module.__dict__, f"{script}: main() parses no args"
    monkeypatch.setattr(sys, "argv", [script, "--help"])
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 0
    assert "usage:" in out.getvalue()


def test_attention_forms_compute_the_same(monkeypatch):
    # `bench_attention.py` times forms of one computation against each
    # other; a form that computed something else would make the ratio
    # meaningless.
    import numpy as np
    import tensorflow as tf

    monkeypatch.syspath_prepend(HERE)
    import bench_attention as bench

    rng = np.random.default_rng(0)
    shape = (2, 3, 6, 8)
    q, k, v = (tf.constant(rng.normal(size=shape), "float32") for _ in "qkv")
    keep = np.ones((2, 1, 1, 6), bool)
    keep[1, ..., 4:] = False
    keep = tf.constant(keep)
    ref = bench.plain(q, k, v, keep).numpy()
    for form in (bench.scores_scaled, bench.fused):
        np.testing.assert_allclose(form(q, k, v, keep).numpy(), ref, atol=1e-5)
    everywhere = tf.ones_like(keep)
    np.testing.assert_allclose(
        bench.unmasked(q, k, v, keep).numpy(),
        bench.plain(q, k, v, everywhere).numpy(),
        atol=1e-5,
    )
    assert np.abs(bench.unmasked(q, k, v, keep).numpy() - ref).max() > 1e-3
    # The serving wrapper: rows in, rows out, the same numbers.
    rows = [
        tf.reshape(tf.transpose(x, (0, 2, 1, 3)), (-1, 24)) for x in (q, k, v)
    ]
    out = bench.serving_fn(bench.plain, shape)(*rows, keep).numpy()
    np.testing.assert_allclose(
        out.reshape(2, 6, 3, 8).transpose(0, 2, 1, 3), ref, atol=1e-5
    )


def test_small_gemm_chain_is_one_requests_matmuls(monkeypatch):
    # `bench_small_gemm.py` stands for the matmuls of one served request
    # of all-MiniLM-L6-v2: every weight matrix once, in order, values of
    # a steady size along the chain (no vanishing into denormals, which
    # would time something else).
    import numpy as np

    monkeypatch.syspath_prepend(HERE)
    import bench_small_gemm as bench

    shapes = bench.weight_shapes()
    assert len(shapes) == 36
    assert bench.weight_bytes() == 6 * (4 * 384 * 384 + 2 * 384 * 1536) * 4
    assert all(
        a[1] == b[0] for a, b in zip(shapes[:-1], shapes[1:], strict=True)
    )
    weights = bench.make_weights()
    rows = np.random.default_rng(0).standard_normal((3, 384))
    expected = rows
    for kernel, bias in weights:
        expected = expected @ kernel.astype("f8") + bias
    np.testing.assert_allclose(bench.reference_chain(weights, rows), expected)
    assert 0.3 < expected.std() < 3.0
    for precision, tolerance in (("float32", 1e-3), ("bfloat16", 0.25)):
        for jit in (False, True):
            run = bench.tensorflow_chain(weights, 1, jit, precision)
            got = run(rows.astype("float32"))
            np.testing.assert_allclose(got, expected, atol=tolerance)


def test_serving_threads_settings_are_checked(monkeypatch):
    monkeypatch.syspath_prepend(HERE)
    import bench_serving_threads as bench

    assert bench.parse_setting("2x1") == (2, 1)
    assert bench.parse_setting(" 16x4") == (16, 4)
    for bad in ("2", "2y1", "x1", "0x1", "2x-1", "a x b"):
        with pytest.raises(ValueError, match="2x1|at least 1"):
            bench.parse_setting(bad)


def test_small_gemm_reference_and_cache_options(monkeypatch, capsys):
    # Ratios are to ORT (float32) or torch (bfloat16), else to `tf`: a
    # `--backends tf,tf-cached` run reports the cache's paired gain.
    monkeypatch.syspath_prepend(HERE)
    import bench_small_gemm as bench

    assert bench.reference_of("float32", ["xla", "ort"]) == "ort"
    assert bench.reference_of("float32", ["tf", "tf-cached"]) == "tf"
    assert bench.reference_of("bfloat16", ["tf-cached", "torch"]) == "torch"
    assert bench.reference_of("bfloat16", ["xla"]) is None
    for argv, message in (
        (["--cache-first-rows", "0"], "--cache-first-rows takes a positive"),
        (["--backends", "tf,gpu"], "unknown backends ['gpu']"),
    ):
        with pytest.raises(SystemExit) as exit_:
            bench.main(argv)
        assert exit_.value.code == 2
        assert message in capsys.readouterr().err


def test_last_block_benchmark_times_the_two_paths(monkeypatch):
    # `bench_last_block.py` compares the shipped pretraining step (last
    # block at the needed rows) with the full graph: `full` must never
    # take the rows path, the shipped model must, and both compute the
    # same outputs from the same weights.
    import keras
    import numpy as np

    monkeypatch.syspath_prepend(HERE)
    import bench_last_block as bench

    from keras_bert_impl import BertConfig
    from keras_bert_impl import build_encoder
    from keras_bert_impl.layers.encoder_block import TransformerEncoderBlock
    from keras_bert_impl.training.pretrain import PretrainingModel

    config = BertConfig.preset("tiny", vocabulary_size=64, num_layers=2)
    rng = np.random.default_rng(0)
    x = {
        "token_ids": rng.integers(5, 64, (2, 10)).astype("int32"),
        "segment_ids": np.zeros((2, 10), "int32"),
        "padding_mask": np.ones((2, 10), "int32"),
        "mask_positions": np.array([[1, 4], [2, 9]], "int32"),
    }
    outputs = {}
    for name, cls in (
        ("rows", PretrainingModel),
        ("full", bench.full_graph_pretrainer()),
    ):
        keras.utils.set_random_seed(3)
        outputs[name] = cls(build_encoder(config))(x)
    for key in ("masked_lm", "next_sentence"):
        np.testing.assert_allclose(
            outputs["full"][key], outputs["rows"][key], atol=1e-5
        )

    def refuse(*args, **kwargs):
        raise AssertionError("call_at_positions ran")

    monkeypatch.setattr(TransformerEncoderBlock, "call_at_positions", refuse)
    keras.utils.set_random_seed(3)
    bench.full_graph_pretrainer()(build_encoder(config))(x)
    keras.utils.set_random_seed(3)
    with pytest.raises(AssertionError, match="call_at_positions ran"):
        PretrainingModel(build_encoder(config))(x)
