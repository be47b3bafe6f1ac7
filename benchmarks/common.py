"""Shared timing utilities for the side-by-side benchmarks.

Every benchmark measures its peers in one process run, interleaved (one
repetition of each peer in turn, the order rotated every round), several
repetitions, and reports the median with min/max and the ratio of medians
to each peer: absolute times on a shared machine drift, ratios hold.

The Hugging Face peer runs in a separate process (`hf_peer.py`, a
torch interpreter), driven over a JSON-lines pipe, so its threads never
compete with TensorFlow's: while one side runs the other waits on a pipe.
"""

import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS_DIR = os.path.join(HERE, "results")
# TensorFlow's oneDNN weight cache for serving processes (read once per
# process; keras_bert_impl.runtime.FROZEN_WEIGHTS_ENV).
FROZEN_WEIGHTS_ENV = "TF_ONEDNN_ASSUME_FROZEN_WEIGHTS"


# === Machine ===


def cpu_info():
    """Model name, core count and the CPU flags that decide bf16 speed."""
    model, flags = platform.processor() or "unknown", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name":
                    model = value.strip()
                elif key == "flags":
                    flags = set(value.split())
    except OSError:
        pass
    wanted = ("avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")
    return {
        "cpu_model": model,
        "cpus": os.cpu_count(),
        "flags": {f: f in flags for f in wanted},
        "native_bf16": "avx512_bf16" in flags or "amx_bf16" in flags,
    }


def matmul_runner(dtype="float32", n=2048):
    """A callable timing one large `tf.linalg.matmul`; returns its FLOPs.

    Benchmarks run it as one more peer in their interleaved rounds, so the
    peak it measures sees the same machine load as the models.
    """
    import tensorflow as tf

    a = tf.cast(tf.random.normal((n, n)), dtype)
    b = tf.cast(tf.random.normal((n, n)), dtype)
    matmul = tf.function(lambda a, b: tf.linalg.matmul(a, b))
    matmul(a, b).numpy()  # trace and warm up

    def run(times=1):
        for _ in range(times):
            out = matmul(a, b)
        out.numpy()

    return run, 2 * n**3


# === Timing ===


def interleaved(runners, repeats, on_round=None):
    """Times each runner once per round, `repeats` rounds, order rotated.

    Args:
        runners: dict name -> callable. The callable does one repetition's
            work and returns either `None` (wall time is measured here) or
            a float, the seconds it measured itself (a remote peer).
        repeats: int. Rounds.
        on_round: optional callable(round_index, times_so_far) for progress.

    Returns:
        dict name -> list of seconds, one per round.
    """
    names = list(runners)
    times = {name: [] for name in names}
    for r in range(repeats):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            start = time.perf_counter()
            reported = runners[name]()
            elapsed = time.perf_counter() - start
            times[name].append(elapsed if reported is None else reported)
        if on_round is not None:
            on_round(r, times)
    return times


def rate_stats(seconds, units):
    """median/min/max of `units / seconds` over repetitions."""
    rates = [units / s for s in seconds]
    return {
        "median": statistics.median(rates),
        "min": min(rates),
        "max": max(rates),
        "n": len(rates),
    }


def ratios(stats, ours, peers):
    """Ratio of medians: `ours` over each of `peers` present in `stats`."""
    return {
        peer: stats[ours]["median"] / stats[peer]["median"]
        for peer in peers
        if peer in stats and stats[peer]["median"] > 0
    }


def paired_ratios(times, ours, peers):
    """Per-round speed ratios `ours` / peer: median, min, max.

    Peers of one round saw the same machine load, so the ratio within a
    round is steadier than the ratio of medians when the load drifts.
    """
    out = {}
    for peer in peers:
        if peer not in times:
            continue
        pairs = zip(times[ours], times[peer], strict=True)
        per_round = [t / o for o, t in pairs]
        out[peer] = {
            "median": statistics.median(per_round),
            "min": min(per_round),
            "max": max(per_round),
        }
    return out


# === Output ===


def stamp():
    """Date, machine and library versions, for every result line."""
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        ),
        **cpu_info(),
        "python": platform.python_version(),
    }


def rounded(obj, digits=4):
    """Rounds floats in a nested structure to `digits` significant digits."""
    if isinstance(obj, float):
        return float(f"{obj:.{digits}g}")
    if isinstance(obj, dict):
        return {k: rounded(v, digits) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [rounded(v, digits) for v in obj]
    return obj


def emit(result, table, save=None):
    """Prints one JSON line then `table`; appends the line to `save`."""
    line = json.dumps(rounded(result), sort_keys=False)
    print(line, flush=True)
    if table:
        print(table, flush=True)
    if save:
        path = save if os.path.isabs(save) else os.path.join(RESULTS_DIR, save)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "a") as f:
            f.write(line + "\n")


def format_table(header, rows):
    """A plain fixed-width text table."""
    cells = [list(map(str, header))] + [[str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = [
        "  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True))
        for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def fmt_rate(stat):
    """`median [min-max]` with three significant digits."""
    return (
        f"{stat['median']:.3g} [{stat['min']:.3g}-{stat['max']:.3g}]"
        if stat
        else "-"
    )


def fmt_ratio(stat):
    """`1.23x [1.10-1.31]` for a paired ratio, or empty."""
    if not stat:
        return ""
    return f"{stat['median']:.2f}x [{stat['min']:.2f}-{stat['max']:.2f}]"


def log(*args):
    """Progress to stderr, so stdout stays one JSON line and a table."""
    print(*args, file=sys.stderr, flush=True)


# === The Hugging Face peer (a torch interpreter in a subprocess) ===


POLICIES = {"fp32": "float32", "bf16": "mixed_bfloat16"}


def synthetic_training(
    kind,
    preset,
    batch_size,
    seq_length,
    *,
    precision="fp32",
    jit_compile="auto",
    track_health=True,
    vocabulary_size=30522,
    seed=0,
    pretrainer_class=None,
):
    """A compiled training model and one fixed random batch, repeated.

    Args:
        kind: `"pretrain"`: `PretrainingModel` (what `pretrain` trains: MLM
            + NSP, 15% of the positions predicted, at random positions)
            with the pretraining optimizer; `"finetune"`: `BertClassifier`
            (2 classes) with the fine-tuning optimizer recipe.
        preset: a `BertConfig` preset name.
        batch_size, seq_length: int. Two segments of half the length each,
            no padding; ids drawn in `[5, vocabulary_size)`.
        precision: `"fp32"` or `"bf16"` (Keras `mixed_bfloat16`).
        jit_compile: passed to `compile` (`"auto"`: the package's rule).
        track_health: the model's `track_health`.
        pretrainer_class: the pretraining model's class (default
            `PretrainingModel`; a subclass to time a variant of its step).

    Returns:
        (model, tf.data.Dataset repeating one batch).
    """
    import keras
    import numpy as np
    import tensorflow as tf

    import keras_bert_impl as kbi
    from keras_bert_impl.training.pretrain import PretrainingModel

    rng = np.random.default_rng(seed)
    shape = (batch_size, seq_length)
    x = {
        "token_ids": rng.integers(5, vocabulary_size, shape),
        "segment_ids": np.repeat(
            (np.arange(seq_length) >= seq_length // 2)[None], batch_size, 0
        ),
        "padding_mask": np.ones(shape),
    }
    keras.utils.set_random_seed(seed)
    config = kbi.BertConfig.preset(preset, vocabulary_size=vocabulary_size)
    encoder = kbi.build_encoder(config, dtype=POLICIES[precision])
    if kind == "finetune":
        model = kbi.BertClassifier(encoder, num_classes=2)
        optimizer = kbi.create_finetune_optimizer(10_000)
        y = rng.integers(0, 2, batch_size).astype("int32")
        batch = ({k: v.astype("int32") for k, v in x.items()}, y)
    elif kind == "pretrain":
        model = (pretrainer_class or PretrainingModel)(encoder)
        optimizer = kbi.create_optimizer(1e-4, 10_000, 100)
        slots = int(np.ceil(0.15 * seq_length))
        x["mask_positions"] = rng.integers(1, seq_length, (batch_size, slots))
        y = {
            "masked_lm": rng.integers(5, vocabulary_size, (batch_size, slots)),
            "next_sentence": rng.integers(0, 2, batch_size),
        }
        w = {
            "masked_lm": np.ones((batch_size, slots), "float32"),
            "next_sentence": np.ones(batch_size, "float32"),
        }
        batch = (
            {k: v.astype("int32") for k, v in x.items()},
            {k: v.astype("int32") for k, v in y.items()},
            w,
        )
    else:
        raise ValueError(f"kind must be pretrain or finetune, got {kind!r}")
    model.track_health = track_health
    model.compile(optimizer=optimizer, jit_compile=jit_compile)
    return model, tf.data.Dataset.from_tensors(batch).repeat().prefetch(2)


def train_stepper(model, data, warmup=3):
    """One compiled train step of a compiled Keras `model` per call, on the
    next batch of `data` (a repeating `tf.data.Dataset`); the call returns
    its seconds, from Keras' `train_function` to the loss on the host
    (nothing of `fit`'s setup, which on this VM varied by seconds per
    call). The first `warmup` steps (tracing, compilation) run here."""
    import time

    iterator = iter(data)
    model.make_train_function()
    function = model.train_function

    def step():
        start = time.perf_counter()
        logs = function(iterator)
        float(logs["loss"])  # waits for the step
        return time.perf_counter() - start

    for _ in range(warmup):
        step()
    return step


def alternating(steppers, pairs, on_pair=None):
    """Alternates two steppers one call at a time, `pairs` times, the
    order swapped every pair.

    A shared VM's load drifts over seconds; two steps a few hundred
    milliseconds apart see the same load, so the per-pair ratio is steady
    where ratios of whole timed blocks spread by ±20%.

    Args:
        steppers: dict of two names -> callable returning seconds
            (`train_stepper`).
        pairs: int.
        on_pair: optional callable(pair_index, times_so_far).

    Returns:
        dict name -> list of seconds, one per pair.
    """
    names = list(steppers)
    times = {name: [] for name in names}
    for index in range(pairs):
        for name in names if index % 2 == 0 else names[::-1]:
            times[name].append(steppers[name]())
        if on_pair is not None:
            on_pair(index, times)
    return times


def median_interval(values, draws=2000, seed=0):
    """The median of `values` and a bootstrap 95% interval of it:
    `{"median", "low95", "high95"}`."""
    import numpy as np

    values = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    medians = np.median(
        rng.choice(values, (draws, len(values)), replace=True), axis=1
    )
    low, high = np.percentile(medians, [2.5, 97.5])
    return {
        "median": float(np.median(values)),
        "low95": float(low),
        "high95": float(high),
    }


def default_torch_python():
    """`$KBI_TORCH_PYTHON`, else this interpreter (the `bench` extra)."""
    return os.environ.get("KBI_TORCH_PYTHON", sys.executable)


RUNNERS = ("session", "function")


def add_runner_argument(parser):
    """`--runner`: how a serving benchmark calls the export
    (`LoadedSavedModel`'s `runner`; default "session", as TF Serving)."""
    parser.add_argument(
        "--runner",
        choices=RUNNERS,
        default="session",
        help="How the export is called: 'session' (default) as TF Serving "
        "does, the SavedModel's graph in a Session, tensors fed and fetched "
        "by name; 'function': tf.saved_model.load and the signature's "
        "concrete function from Python (common.LoadedSavedModel).",
    )


class LoadedSavedModel:
    """An exported SavedModel, called with NumPy in and NumPy out.

    `runner="session"` runs it the way TF Serving does: the SavedModel
    loader imports the `serve` MetaGraph into a graph and `Session.run`
    feeds and fetches the signature's tensors by name (TF Serving's
    `SavedModelBundle` calls `Session::Run` from C++ the same way; no
    Python in its serving loop). `runner="function"` reloads it with
    `tf.saved_model.load` and calls the signature's concrete function
    from Python, as a TF2 script would (about 1 ms more per call on this
    benchmark's machine: the eager function call and its argument and
    output handling).

    Args:
        path: str. The version directory.
        runner: str, one of `RUNNERS`.
        threads: int. Intra- and inter-op threads of the session (the
            function runner uses the process's `tf.config.threading`).
        inter_op_threads: optional int. The session's inter-op threads
            (default: `threads`), as TF Serving's
            `--tensorflow_inter_op_parallelism`.
    """

    def __init__(
        self, path, runner="session", threads=None, inter_op_threads=None
    ):
        import tensorflow as tf
        import tensorflow_text  # noqa: F401  (registers the tokenizer's ops)

        if runner not in RUNNERS:
            raise ValueError(f"runner must be one of {RUNNERS}: {runner!r}")
        self.runner = runner
        if runner == "function":
            self._loaded = tf.saved_model.load(path)
            return
        tf1 = tf.compat.v1
        threads = threads or os.cpu_count()
        self._graph = tf.Graph()
        self._session = tf1.Session(
            graph=self._graph,
            config=tf1.ConfigProto(
                intra_op_parallelism_threads=threads,
                inter_op_parallelism_threads=inter_op_threads or threads,
            ),
        )
        with self._graph.as_default():
            meta = tf1.saved_model.loader.load(self._session, ["serve"], path)
        self._signature_defs = meta.signature_def

    def input_names(self, name):
        """The input names of signature `name`, sorted."""
        if self.runner == "function":
            fn = self._loaded.signatures[name]
            return sorted(fn.structured_input_signature[1])
        return sorted(self._signature_defs[name].inputs)

    def signature(self, name):
        """`call(**inputs)`: NumPy (or lists) in, dict of NumPy out."""
        if self.runner == "function":
            import tensorflow as tf

            fn = self._loaded.signatures[name]

            def call(**inputs):
                feeds = {k: tf.constant(v) for k, v in inputs.items()}
                return {k: v.numpy() for k, v in fn(**feeds).items()}

            return call
        import numpy as np

        sig = self._signature_defs[name]
        names = {k: v.name for k, v in sig.inputs.items()}
        fetches = {k: v.name for k, v in sig.outputs.items()}

        def feed(value):
            value = np.asarray(value)
            return value.astype(object) if value.dtype.kind == "U" else value

        def call(**inputs):
            feeds = {names[k]: feed(v) for k, v in inputs.items()}
            return self._session.run(fetches, feeds)

        return call


class PipeWorker:
    """A worker process driven over a JSON-lines pipe.

    The worker (`serve_pipe` on its side) reads one JSON command per line
    on stdin and writes one JSON reply per line on stdout; a reply with an
    `"error"` raises `RuntimeError` here. While one side works the other
    waits on the pipe, so their thread pools never compete.

    Args:
        argv: list of str. The worker's command line.
        env: optional dict. Its environment (default: this process's).
        name: str. Named in errors.
    """

    def __init__(self, argv, env=None, name="the worker"):
        self.name = name
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )

    def ask(self, message):
        self.proc.stdin.write(json.dumps(message) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(
                f"{self.name} exited (code {self.proc.poll()}); "
                "see its stderr above"
            )
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(reply["error"])
        return reply

    def close(self, timeout=60):
        if self.proc is None:
            return
        try:
            self.ask({"cmd": "quit"})
        except (RuntimeError, BrokenPipeError, ValueError):
            pass
        self.proc.wait(timeout=timeout)
        self.proc = None


def serve_pipe(handle):
    """The worker's side of `PipeWorker`: answers commands until "quit".

    Each stdin line is `{"cmd": name, ...}`; `handle(name, message)`
    returns the reply dict (message without "cmd"). An exception becomes
    an `{"error": ...}` reply. Only replies reach the pipe: anything else
    written to stdout, by Python or by a native library (e.g. oneDNN's
    `ONEDNN_VERBOSE` lines), goes to stderr.
    """
    sys.stdout.flush()
    out = os.fdopen(os.dup(1), "w")  # the pipe, for replies only
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    for line in sys.stdin:
        msg = json.loads(line)
        cmd = msg.pop("cmd", None)
        if cmd == "quit":
            reply = {}
        else:
            try:
                reply = handle(cmd, msg)
            except Exception as e:  # noqa: BLE001 - reported to the driver
                reply = {"error": f"{type(e).__name__}: {e}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()
        if cmd == "quit":
            return


class TorchPeer:
    """Drives `hf_peer.py` in `python_exe` over a JSON-lines pipe.

    `setup(**spec)` builds a model there and warms it up; `run(steps)`
    returns the seconds the peer measured for `steps` steps. If torch or
    transformers cannot be imported there, `available` is False and the
    reason is in `error`.
    """

    def __init__(self, python_exe=None, threads=None):
        self.python_exe = python_exe or default_torch_python()
        self.error = None
        env = dict(os.environ)
        if threads:
            env["OMP_NUM_THREADS"] = str(threads)
        self.pipe = None
        try:
            self.pipe = PipeWorker(
                [self.python_exe, os.path.join(HERE, "hf_peer.py")],
                env=env,
                name="hf_peer.py",
            )
            self.versions = self.pipe.ask({"cmd": "hello", "threads": threads})
        except (OSError, RuntimeError) as e:
            self.error = str(e)
            self.pipe = None
            self.versions = {}

    @property
    def available(self):
        return self.pipe is not None and self.error is None

    def setup(self, **spec):
        return self.pipe.ask({"cmd": "setup", **spec})

    def run(self, steps):
        return self.pipe.ask({"cmd": "run", "steps": steps})["seconds"]

    def close(self):
        if self.pipe is not None:
            self.pipe.close(timeout=30)
            self.pipe = None
