"""oneDNN's weight cache for a serving process, measured on real text.

TensorFlow runs a float32 or bfloat16 `MatMul` (+ `BiasAdd` + GELU) on
its CPU kernels through oneDNN. By default every call hands oneDNN the
weight in TensorFlow's plain layout, and oneDNN works from it as is (or
reorders it) on every call: at a few rows per request, streaming the
weights dominates. With `TF_ONEDNN_ASSUME_FROZEN_WEIGHTS=1` in the
environment (TensorFlow reads it once per process) each kernel converts
its weight once into oneDNN's blocked layout and keeps it. That is only
correct in a process where the weights never change: a serving process
(TF Serving, or a script that only runs an export), never training.

`--variable` times another of TensorFlow's oneDNN switches the same way,
e.g. `TF_ONEDNN_THREADPOOL_USE_CALLER_THREAD` (the thread that calls a
oneDNN op runs one of its jobs instead of handing all of them to the
intra-op pool); `--env NAME=VALUE` sets a variable in both workers.

Two worker processes (this script with `--worker`) load the same exports
of the real all-MiniLM-L6-v2 encoder, one with the variable set to 1
(`on`), one with it set to 0 (`off`), and call `serving_default` with raw
text as TF Serving does (as `bench_serving_e2e.py`; `--runner session`,
the default: the `serve` graph in a `Session`, tensors fed and fetched by
name; `--runner function`: `tf.saved_model.load` and the concrete
function, as the runs before 2026-12-07 did): real text of the
three length profiles (`short`: Rotten Tomatoes, `long128` / `long512`:
BBC News articles cut there), batch sizes `--batch-sizes`, exports
`--exports` (`fp32`: the default export, `jit_compile="auto"`, whose
XLA-compiled small requests this does not touch; `fp32-noxla`:
`jit_compile=False`, TensorFlow's kernels throughout; `bf16`:
`precision="bfloat16"`, TensorFlow's kernels throughout). The driver
alternates the workers (`common.interleaved`: one pass over all sentences
per worker per round, order rotated), so they never run at the same time.

Per (export, profile, batch size): an untimed warmup pass on each worker
(XLA compiles; oneDNN fills its cache), the max |difference| between the
two workers' `sequence_output` at real tokens and `pooled_output`, then
`--rounds` timed passes; sentences/s median [min-max] and the per-round
ratio on / off (> 1: the variable pays).

    python benchmarks/bench_onednn_weights.py --rounds 5
    python benchmarks/bench_onednn_weights.py --rounds 1 --profiles short \\
        --batch-sizes 1 --exports fp32 --max-sentences 16
    python benchmarks/bench_onednn_weights.py --exports bf16,fp32 \\
        --variable TF_ONEDNN_THREADPOOL_USE_CALLER_THREAD \\
        --env TF_ONEDNN_ASSUME_FROZEN_WEIGHTS=1

One JSON line per run goes to `benchmarks/results/onednn_weights.jsonl`.
"""

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))

import common  # noqa: E402

MODES = {"on": "1", "off": "0"}  # the one under test first
EXPORTS = {
    "fp32": {},
    "fp32-noxla": {"jit_compile": False},
    "bf16": {"precision": "bfloat16"},
}


# === Worker side (one process per mode) ===


def worker_main(threads, runner, variable, inter_op_threads=None):
    """A serving worker: loads exports, answers `prepare` and `run`.

    Also the worker of `bench_serving_threads.py`, which sets
    `inter_op_threads` (default: `threads`).
    """
    import numpy as np
    import tensorflow as tf

    inter_op_threads = inter_op_threads or threads
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(inter_op_threads)
    state = {"loaded": {}}

    def one(serve, batch):
        return serve(text=np.array(batch, dtype=object))

    def handle(cmd, msg):
        if cmd == "hello":
            return {
                "tensorflow": tf.__version__,
                variable: os.environ.get(variable),
                common.FROZEN_WEIGHTS_ENV: os.environ.get(
                    common.FROZEN_WEIGHTS_ENV
                ),
                "pid": os.getpid(),
                "runner": runner,
                "intra_op_threads": threads,
                "inter_op_threads": inter_op_threads,
            }
        if cmd == "prepare":
            # Loads the export (once), sets the batches, runs the warmup
            # pass and saves its outputs at real tokens for the diff.
            path = msg["path"]
            if path not in state["loaded"]:
                state["loaded"][path] = common.LoadedSavedModel(
                    path, runner, threads, inter_op_threads
                )
            serve = state["loaded"][path].signature("serving_default")
            texts, size = msg["texts"], msg["batch_size"]
            batches = [texts[i : i + size] for i in range(0, len(texts), size)]
            state["run"] = lambda: [one(serve, b) for b in batches]
            start = time.perf_counter()
            outs = state["run"]()
            warm = time.perf_counter() - start
            real = [o["sequence_output"][o["padding_mask"] > 0] for o in outs]
            np.savez(
                msg["save"],
                sequence=np.concatenate(real),
                pooled=np.concatenate([o["pooled_output"] for o in outs]),
            )
            return {"warmup_pass_s": warm}
        if cmd == "run":
            start = time.perf_counter()
            state["run"]()
            return {"seconds": time.perf_counter() - start}
        return {"error": f"unknown command {cmd!r}"}

    common.serve_pipe(handle)


# === Driver ===


def export_all(root, exports, max_lengths):
    """{(export, max_length): version directory} of the MiniLM encoder."""
    from bench_serving_xla_tokens import load_model

    from keras_bert_impl.export import export_savedmodel

    encoder, tokenizer = load_model("minilm")
    paths = {}
    for name in exports:
        for max_length in max_lengths:
            paths[name, max_length] = export_savedmodel(
                encoder, tokenizer,
                os.path.join(root, f"{name}_{max_length}", "1"),
                max_length=max_length, warmup=False, **EXPORTS[name],
            )  # fmt: skip
    return paths


def max_differences(files):
    """Max |difference| of the two workers' saved outputs."""
    import numpy as np

    a, b = (np.load(f) for f in files.values())
    return {
        key: float(np.abs(a[key].astype("f8") - b[key]).max())
        for key in ("sequence", "pooled")
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_cell_arguments(parser)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument(
        "--variable",
        default=common.FROZEN_WEIGHTS_ENV,
        help="the environment variable set to 1 in one worker, 0 in the "
        "other (default: %(default)s)",
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an environment variable for both workers (repeatable)",
    )
    parser.add_argument("--out", default="onednn_weights.jsonl")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--inter-op-threads", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker_main(
            args.threads, args.runner, args.variable, args.inter_op_threads
        )
        return

    both = {}
    for item in args.env:
        name, sep, value = item.partition("=")
        if not sep or not name:
            parser.error(f"--env takes NAME=VALUE: {item!r}")
        both[name] = value
    if args.variable in both:
        parser.error(f"--env sets {args.variable}, the variable under test")

    exports = cell_exports(parser, args)
    start = time.perf_counter()
    workers = {
        mode: common.PipeWorker(
            [sys.executable, os.path.abspath(__file__), "--worker"]
            + ["--threads", str(args.threads), "--runner", args.runner]
            + ["--variable", args.variable],
            env=dict(os.environ, **both, **{args.variable: value}),
            name=f"the {mode} worker",
        )
        for mode, value in MODES.items()
    }
    hello, cells, table = run_cells(workers, exports, args, row)
    result = {
        "benchmark": "onednn_weights",
        **common.stamp(),
        "model": "all-MiniLM-L6-v2 encoder",
        "threads": args.threads,
        "runner": args.runner,
        "variable": args.variable,
        "env": both,
        "rounds": args.rounds,
        "load_average": os.getloadavg(),
        "workers": hello,
        "wall_s": time.perf_counter() - start,
        "cells": cells,
    }
    header = [
        "export", "profile", "batch", "off sent/s", "on sent/s",
        "on / off", "max |diff| seq", "pooled",
    ]  # fmt: skip
    common.emit(result, common.format_table(header, table), args.out)


def add_cell_arguments(
    parser, profiles="short,long128,long512", batch_sizes="1,8,32", rounds=5
):
    """The flags of a serving benchmark's cells (`each_cell`): exports,
    profiles, batch sizes, rounds, sentences per profile, runner."""
    parser.add_argument("--exports", default="fp32,bf16")
    parser.add_argument("--profiles", default=profiles)
    parser.add_argument("--batch-sizes", default=batch_sizes)
    parser.add_argument("--rounds", type=int, default=rounds)
    parser.add_argument("--short-sentences", type=int, default=128)
    parser.add_argument("--long-sentences", type=int, default=32)
    parser.add_argument("--max-sentences", type=int, default=0)
    common.add_runner_argument(parser)


def cell_exports(parser, args):
    """`--exports` as a list of `EXPORTS` names; `parser.error` on others."""
    exports = [e for e in args.exports.split(",") if e]
    unknown = sorted(set(exports) - set(EXPORTS))
    if unknown:
        parser.error(f"unknown exports {unknown}; choose from {list(EXPORTS)}")
    return exports


def each_cell(exports, args):
    """Yields `(export, profile, path, texts, batch_size)` for every
    (export, profile, batch size) cell: the exports of `exports` for
    `args.profiles`' lengths (in a temporary folder, removed after), the
    profiles' real text."""
    import bench_serving_e2e as e2e

    profiles = [p for p in args.profiles.split(",") if p]
    sizes = [int(b) for b in args.batch_sizes.split(",")]
    texts = {p: e2e.load_texts(p, args) for p in profiles}
    with tempfile.TemporaryDirectory(prefix="serving_exports_") as root:
        max_lengths = sorted({e2e.PROFILES[p][1] for p in profiles})
        paths = export_all(root, exports, max_lengths)
        for name in exports:
            for profile in profiles:
                path = paths[name, e2e.PROFILES[profile][1]]
                for size in sizes:
                    yield name, profile, path, texts[profile], size


def run_cells(workers, exports, args, row):
    """Every cell of `each_cell` on the two `workers` (dict name ->
    `PipeWorker`, the one under test first; closed here): `measure` per
    cell, `row(cell)` for the table.

    Returns:
        (the workers' hello replies, the cells, the table rows).
    """
    cells, table = [], []
    try:
        hello = {n: w.ask({"cmd": "hello"}) for n, w in workers.items()}
        with tempfile.TemporaryDirectory(prefix="serving_ab_") as root:
            for name, profile, path, texts, size in each_cell(exports, args):
                cell = measure(workers, path, texts, size, root, args)
                cell.update(export=name, profile=profile)
                cells.append(cell)
                table.append(row(cell))
                common.log(table[-1])
    finally:
        for worker in workers.values():
            worker.close()
    return hello, cells, table


def measure(workers, path, texts, batch_size, root, args):
    """One cell: warmup and outputs of each of the two `workers` (dict
    name -> `PipeWorker`, the one under test first), then `args.rounds`
    alternating passes; the paired ratio first / second is stored as
    `"<first>_over_<second>"`."""
    first, second = workers
    files = {m: os.path.join(root, f"out_{m}.npz") for m in workers}
    warm = {
        mode: worker.ask({
            "cmd": "prepare", "path": path, "texts": texts,
            "batch_size": batch_size, "save": files[mode],
        })["warmup_pass_s"]
        for mode, worker in workers.items()
    }  # fmt: skip
    diff = max_differences(files)
    times = common.interleaved(
        {
            mode: (lambda w=worker: w.ask({"cmd": "run"})["seconds"])
            for mode, worker in workers.items()
        },
        args.rounds,
    )
    return {
        "batch_size": batch_size,
        "sentences": len(texts),
        "warmup_pass_s": warm,
        "max_abs_diff": diff,
        "sentences_per_s": {
            mode: common.rate_stats(seconds, len(texts))
            for mode, seconds in times.items()
        },
        f"{first}_over_{second}": common.paired_ratios(times, first, [second])[
            second
        ],
        "seconds": times,
    }


def row(cell):
    rates = cell["sentences_per_s"]
    return [
        cell["export"], cell["profile"], cell["batch_size"],
        common.fmt_rate(rates["off"]), common.fmt_rate(rates["on"]),
        common.fmt_ratio(cell["on_over_off"]),
        f"{cell['max_abs_diff']['sequence']:.1e}",
        f"{cell['max_abs_diff']['pooled']:.1e}",
    ]  # fmt: skip


if __name__ == "__main__":
    main()
