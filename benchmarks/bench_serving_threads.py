"""Thread settings of a serving process, compared paired on real text.

An export's `SERVING.md` starts TF Serving with
`--tensorflow_intra_op_parallelism` (threads inside one op) and
`--tensorflow_inter_op_parallelism` (ops of a call run at once). This
compares two such settings, `--settings A,B`, each `INTRAxINTER`
(default: intra-op = the cores with inter-op 1, then inter-op = the
cores too). Two worker processes (`bench_onednn_weights.py`'s worker:
the export in a `Session` as TF Serving runs it, `--runner`), one per
setting, load the same exports of the real all-MiniLM-L6-v2 encoder
(`--exports`: `fp32` the default export, `fp32-noxla`, `bf16`) and call
`serving_default` with raw text: real text of the length profiles
(`short`: Rotten Tomatoes, `long128` / `long512`: BBC News articles cut
there), batch sizes `--batch-sizes`. Both workers have
`TF_ONEDNN_ASSUME_FROZEN_WEIGHTS=1`, as a bfloat16 export's `SERVING.md`
tells the server (no effect on the float32 export: see
`bench_onednn_weights.py`). The driver alternates the workers, one pass
over all sentences each per round, order rotated, so they never run at
the same time.

Per (export, profile, batch size): a warmup pass on each, the max
|difference| of their outputs, then `--rounds` timed passes; sentences/s
median [min-max] and the per-round ratio B / A (> 1: B serves faster).

    python benchmarks/bench_serving_threads.py --rounds 5
    python benchmarks/bench_serving_threads.py --settings 1x1,2x2 \\
        --profiles short --batch-sizes 1,32

One JSON line per run goes to `benchmarks/results/serving_threads.jsonl`.
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)

import bench_onednn_weights as ab  # noqa: E402
import common  # noqa: E402


def parse_setting(text):
    """`"2x1"` -> (2, 1): intra-op and inter-op threads."""
    intra, sep, inter = text.strip().partition("x")
    if not sep or not intra.isdigit() or not inter.isdigit():
        raise ValueError(f"a setting is INTRAxINTER, e.g. 2x1: {text!r}")
    if int(intra) < 1 or int(inter) < 1:
        raise ValueError(f"thread counts must be at least 1: {text!r}")
    return int(intra), int(inter)


def main(argv=None):
    cores = os.cpu_count()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--settings",
        default=f"{cores}x1,{cores}x{cores}",
        help="two INTRAxINTER thread settings, A,B (default: %(default)s); "
        "the ratio is B / A",
    )
    ab.add_cell_arguments(parser)
    parser.add_argument("--out", default="serving_threads.jsonl")
    args = parser.parse_args(argv)
    try:
        settings = [parse_setting(s) for s in args.settings.split(",")]
    except ValueError as e:
        parser.error(str(e))
    if len(settings) != 2 or settings[0] == settings[1]:
        parser.error(
            f"--settings takes two different settings: {args.settings!r}"
        )

    exports = ab.cell_exports(parser, args)
    names = [f"{intra}x{inter}" for intra, inter in settings]
    # The ratio is B / A: `ab.measure` puts the first worker over the second.
    order = [(names[1], settings[1]), (names[0], settings[0])]
    start = time.perf_counter()
    workers = {
        name: common.PipeWorker(
            [sys.executable, os.path.join(HERE, "bench_onednn_weights.py")]
            + ["--worker", "--threads", str(intra)]
            + ["--inter-op-threads", str(inter), "--runner", args.runner],
            env=dict(os.environ, **{common.FROZEN_WEIGHTS_ENV: "1"}),
            name=f"the {name} worker",
        )
        for name, (intra, inter) in order
    }
    hello, cells, table = ab.run_cells(
        workers, exports, args, lambda cell: row(cell, names)
    )
    result = {
        "benchmark": "serving_threads",
        **common.stamp(),
        "model": "all-MiniLM-L6-v2 encoder",
        "settings": {"A": names[0], "B": names[1]},
        "runner": args.runner,
        "rounds": args.rounds,
        "load_average": os.getloadavg(),
        "workers": hello,
        "wall_s": time.perf_counter() - start,
        "cells": cells,
    }
    a, b = names
    header = [
        "export", "profile", "batch", f"{a} sent/s", f"{b} sent/s",
        f"{b} / {a}", "max |diff| seq", "pooled",
    ]  # fmt: skip
    common.emit(result, common.format_table(header, table), args.out)


def row(cell, names):
    a, b = names
    rates = cell["sentences_per_s"]
    return [
        cell["export"], cell["profile"], cell["batch_size"],
        common.fmt_rate(rates[a]), common.fmt_rate(rates[b]),
        common.fmt_ratio(cell[f"{b}_over_{a}"]),
        f"{cell['max_abs_diff']['sequence']:.1e}",
        f"{cell['max_abs_diff']['pooled']:.1e}",
    ]  # fmt: skip


if __name__ == "__main__":
    main()
