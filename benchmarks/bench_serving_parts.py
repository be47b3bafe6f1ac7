"""Where a served request's time goes: the in-graph tokenizer and the model.

An export has three signatures (`keras_bert_impl.export.signatures`):
`serving_default` (raw text -> outputs, what a TF Serving client calls),
`tokenize` (the same raw text -> the packed ids the model takes) and
`from_ids` (those ids -> the outputs: the numeric model alone). This
times the three on the same real requests through one loaded export, as
TF Serving runs it (`--runner session`, the default: the `serve` graph in
a `Session`, tensors fed and fetched by name; `common.LoadedSavedModel`):
the real all-MiniLM-L6-v2 encoder, exported as `--exports` names them
(`bench_onednn_weights.EXPORTS`: `fp32`, the default export; `fp32-noxla`;
`bf16`), real text of the length profiles of `bench_serving_e2e.py`
(`short`: Rotten Tomatoes sentences; `long128` / `long512`: BBC News
articles cut there), at `--batch-sizes`.

Per (export, profile, batch size): the sentences in batches; `tokenize`
gives each batch's ids once, and `from_ids` on them must give
`serving_default`'s outputs on the text (max |difference| recorded: the
three signatures are parts of one request); an untimed warmup pass of
each; then `--rounds` rounds, each one pass over all batches per
signature, order rotated (`common.interleaved`). Reported: ms per request
(median [min-max]), the tokenizer's share of a whole request (`tokenize`
/ `serving_default`, per round) and the whole request's time beyond the
numeric model (`serving_default` - `from_ids`, ms per request, per
round).

    python benchmarks/bench_serving_parts.py --rounds 7
    python benchmarks/bench_serving_parts.py --exports fp32 --profiles short \\
        --batch-sizes 1 --rounds 1 --max-sentences 8

One JSON line per run goes to `benchmarks/results/serving_parts.jsonl`.
"""

import argparse
import os
import statistics
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))

import bench_onednn_weights as ab  # noqa: E402
import common  # noqa: E402

PARTS = ("text", "tokenize", "from_ids")
SIGNATURES = {
    "text": "serving_default",
    "tokenize": "tokenize",
    "from_ids": "from_ids",
}


def prepare(loaded, texts, batch_size):
    """The three parts' runners over `texts` in batches of `batch_size`,
    and the max |difference| of `from_ids`(ids) against
    `serving_default`(text) per output."""
    import bench_serving_e2e as e2e
    import numpy as np

    calls = {part: loaded.signature(SIGNATURES[part]) for part in PARTS}
    batches = [
        {"text": np.array(batch, dtype=object)}
        for batch in e2e.batches_of(texts, batch_size)
    ]
    ids_names = set(loaded.input_names("from_ids"))
    diff = {}
    ids_batches = []
    for batch in batches:
        ids = calls["tokenize"](**batch)
        missing = ids_names - set(ids)
        if missing:
            raise ValueError(
                f"the export's tokenize signature lacks {sorted(missing)}, "
                "which from_ids takes"
            )
        ids = {name: ids[name] for name in ids_names}
        ids_batches.append(ids)
        whole, part = calls["text"](**batch), calls["from_ids"](**ids)
        for key in sorted(set(whole) & set(part)):
            d = float(
                np.abs(whole[key].astype("f8") - part[key].astype("f8")).max()
            )
            diff[key] = max(diff.get(key, 0.0), d)
    if not diff:
        raise ValueError("serving_default and from_ids share no output")
    inputs = {"text": batches, "tokenize": batches, "from_ids": ids_batches}

    def runner(part):
        def run():
            for batch in inputs[part]:
                calls[part](**batch)

        return run

    return {part: runner(part) for part in PARTS}, diff


def measure(loaded, texts, batch_size, rounds):
    """One cell: outputs checked, a warmup pass, `rounds` timed rounds."""
    runners, diff = prepare(loaded, texts, batch_size)
    for run in runners.values():
        run()
    times = common.interleaved(runners, rounds)
    requests = -(-len(texts) // batch_size)
    ms = {
        part: stats_ms([s / requests for s in seconds])
        for part, seconds in times.items()
    }
    pairs = list(
        zip(times["text"], times["tokenize"], times["from_ids"], strict=True)
    )
    share = [tok / text for text, tok, _ in pairs]
    beyond = [(text - ids) / requests * 1000 for text, _, ids in pairs]
    return {
        "batch_size": batch_size,
        "sentences": len(texts),
        "requests": requests,
        "max_abs_diff_from_ids_vs_text": diff,
        "ms_per_request": ms,
        "tokenize_share_of_text": stats(share),
        "text_minus_from_ids_ms": stats(beyond),
        "seconds": times,
    }


def stats(values):
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
    }


def stats_ms(seconds):
    return stats([s * 1000 for s in seconds])


def fmt(stat, digits=3):
    """`median [min-max]` with `digits` significant digits."""
    median, low, high = (stat[k] for k in ("median", "min", "max"))
    return f"{median:.{digits}g} [{low:.{digits}g}-{high:.{digits}g}]"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ab.add_cell_arguments(
        parser, profiles="short,long128", batch_sizes="1,8", rounds=7
    )
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--out", default="serving_parts.jsonl")
    args = parser.parse_args(argv)

    exports = ab.cell_exports(parser, args)
    cells, table, loaded = [], [], {}
    for name, profile, path, texts, size in ab.each_cell(exports, args):
        if path not in loaded:
            loaded[path] = common.LoadedSavedModel(
                path, runner=args.runner, threads=args.threads
            )
        cell = measure(loaded[path], texts, size, args.rounds)
        cell.update(export=name, profile=profile)
        cells.append(cell)
        ms = cell["ms_per_request"]
        table.append([
            name, profile, size,
            fmt(ms["text"]), fmt(ms["tokenize"]), fmt(ms["from_ids"]),
            f"{cell['tokenize_share_of_text']['median']:.1%}",
            fmt(cell["text_minus_from_ids_ms"], 2),
        ])  # fmt: skip
        common.log(table[-1])
    import tensorflow as tf

    result = {
        "benchmark": "serving_parts",
        **common.stamp(),
        "model": "all-MiniLM-L6-v2 encoder",
        "threads": args.threads,
        "runner": args.runner,
        "rounds": args.rounds,
        "load_average": os.getloadavg(),
        "versions": {"tensorflow": tf.__version__},
        "cells": cells,
    }
    header = [
        "export", "profile", "batch", "text ms", "tokenize ms",
        "from_ids ms", "tokenize / text", "text - from_ids ms",
    ]  # fmt: skip
    common.emit(result, common.format_table(header, table), args.out)


if __name__ == "__main__":
    main()
