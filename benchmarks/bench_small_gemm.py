"""A served request's dense layers: TensorFlow's kernels against ORT's, torch's.

What bounds a batch-1 request on a CPU. A sentence of a few tokens
multiplies a few rows by every weight matrix of the model once, so its
dense layers read all the weights (all-MiniLM-L6-v2: 36 matrices, 42 MB
in float32) for little arithmetic. This times exactly that, in isolation
from the rest of the model: the 36 dense layers (matmul + bias) chained,
each output feeding the next, in each backend a served request can use:

- `xla`: TensorFlow, the chain XLA-compiled (`jit_compile=True`), as the
  default export runs small requests;
- `tf`: TensorFlow's own kernels, MatMul + BiasAdd fused by Grappler into
  oneDNN's matmul, as the `--no-xla` and the bfloat16 exports run them;
- `tf-cached`: the same with `TF_ONEDNN_ASSUME_FROZEN_WEIGHTS=1` (each
  kernel converts its weight once to the layout oneDNN picks for its
  first call and keeps it; a later call whose shape needs another layout
  converts the weight again at every call). A fresh `tf-cached` process
  per row count, whose first call has that row count: the cache at its
  best. `--cache-first-rows N` makes the first call N rows instead (a
  server whose first request had another size);
- `tf-eigen` (only when named in `--backends`): the same graph with
  `TF_ENABLE_ONEDNN_OPTS=0`, TensorFlow's Eigen MatMul and BiasAdd
  instead of oneDNN's (the same environment variable in a server);
- `ort`: ONNX Runtime (its MLAS kernels) on an ONNX graph of the same
  layers (MatMul + Add), weights as initializers, all graph optimizations;
- `torch`: PyTorch eager, `F.linear` on (out, in) weights as HF's
  `nn.Linear`, under `inference_mode` (skipped if torch is missing).

Both TensorFlow backends run in a `Session` with the weights in variables
(as TF Serving runs an export); the chain's input is fed, its output
fetched. Each backend lives in its own process (`common.PipeWorker`),
with the same seeded weights (all-MiniLM-L6-v2's shapes, kernels scaled
by 1/sqrt(fan-in) so values neither grow nor vanish along the chain) and
the same threads; rounds alternate between them. Per `--rows`: ms per
chain (median [min-max] over rounds), GFLOP/s, the weights' bytes per
second, and each backend's paired speed ratio to the reference peer (> 1:
faster than it): ORT in float32 (`tf` when `--backends` leaves the peer
out). Every backend's output is checked
against a float64 NumPy chain.

`--precision bfloat16` times the bfloat16 export's case instead: weights
stored in bfloat16 (21 MB), the rows cast to bfloat16 on the way in and
the result back to float32, against torch in bfloat16 (HF bf16's
kernels), the reference then; ORT is left out, its CPU provider has no
bfloat16 MatMul.

    python benchmarks/bench_small_gemm.py --rounds 7
    python benchmarks/bench_small_gemm.py --rows 1,8 --backends xla,ort
    python benchmarks/bench_small_gemm.py --precision bfloat16
    python benchmarks/bench_small_gemm.py --backends xla,tf,tf-eigen,ort
    python benchmarks/bench_small_gemm.py --backends tf,tf-cached \
        --cache-first-rows 1 --rows 8,32,128

One JSON line per run goes to `benchmarks/results/small_gemm.jsonl`.
"""

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import common  # noqa: E402

BACKENDS = ("xla", "tf", "tf-cached", "tf-eigen", "ort", "torch")
DEFAULT_BACKENDS = ("xla", "tf", "tf-cached", "ort", "torch")
# Worker environment per backend: oneDNN's weight cache; oneDNN off.
BACKEND_ENV = {
    "tf-cached": {common.FROZEN_WEIGHTS_ENV: "1"},
    "tf-eigen": {"TF_ENABLE_ONEDNN_OPTS": "0"},
}
ENV_NAMES = sorted({n for env in BACKEND_ENV.values() for n in env})
# Backends whose first call fixes what they cache: a new process per row
# count (`measure` sends it `--cache-first-rows` as its first call).
FRESH_PER_CELL = ("tf-cached",)
REFERENCE = {"float32": "ort", "bfloat16": "torch"}  # the ratios' peer


def reference_of(precision, backends):
    """The ratios' peer: `REFERENCE`'s, or `tf` when that is not run."""
    peer = REFERENCE[precision]
    if peer in backends:
        return peer
    return "tf" if "tf" in backends else None


BYTES = {"float32": 4, "bfloat16": 2}
HIDDEN, INTERMEDIATE, LAYERS = 384, 1536, 6  # all-MiniLM-L6-v2


def weight_shapes():
    """(fan_in, fan_out) of each matrix, in the order a request uses them.

    Per layer: query, key, value and output projections, then the two
    feed-forward matrices. A chain (each output feeds the next matmul)
    reads every matrix once per call, as one request does.
    """
    layer = [(HIDDEN, HIDDEN)] * 4 + [
        (HIDDEN, INTERMEDIATE),
        (INTERMEDIATE, HIDDEN),
    ]
    return layer * LAYERS


def make_weights(seed=0):
    """[(kernel, bias)] in float32, one per `weight_shapes()` entry."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return [
        (
            (rng.standard_normal(shape) / np.sqrt(shape[0])).astype("f4"),
            (0.1 * rng.standard_normal(shape[1])).astype("f4"),
        )
        for shape in weight_shapes()
    ]


def reference_chain(weights, rows):
    """The chain in float64 NumPy."""
    x = rows.astype("f8")
    for kernel, bias in weights:
        x = x @ kernel.astype("f8") + bias
    return x


def input_rows(rows):
    """The chain's (rows, hidden) float32 input, the same in every worker."""
    import numpy as np

    rng = np.random.default_rng(1)
    return rng.standard_normal((rows, HIDDEN), dtype=np.float32)


def flops(rows):
    return sum(2 * rows * k * n for k, n in weight_shapes())


def weight_bytes(precision="float32"):
    return sum(BYTES[precision] * k * n for k, n in weight_shapes())


# === Worker side (one process per backend) ===


def tensorflow_chain(weights, threads, jit, precision="float32"):
    """`run(x) -> y` in a `Session`; the chain XLA-compiled if `jit`.

    In bfloat16 the variables hold bfloat16 weights (as a bfloat16
    export's do) and the chain casts the float32 rows in and out.
    """
    import tensorflow as tf

    tf1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        x = tf1.placeholder(tf.float32, [None, HIDDEN], name="x")
        variables = [
            tf.Variable(tf.cast(array, precision))
            for pair in weights
            for array in pair
        ]

        def chain(x, *flat):
            # As the export's dense layers: MatMul + BiasAdd, which
            # Grappler fuses into one oneDNN `_FusedMatMul`.
            x = tf.cast(x, precision)
            for kernel, bias in zip(flat[::2], flat[1::2], strict=True):
                x = tf.nn.bias_add(tf.linalg.matmul(x, kernel), bias)
            return tf.cast(x, tf.float32)

        if jit:
            y = tf.function(chain, jit_compile=True)(x, *variables)
        else:
            y = chain(x, *variables)
        init = tf1.global_variables_initializer()
    session = tf1.Session(
        graph=graph,
        config=tf1.ConfigProto(
            intra_op_parallelism_threads=threads,
            inter_op_parallelism_threads=threads,
        ),
    )
    session.run(init)
    return lambda rows: session.run(y, {x: rows})


def ort_chain(weights, threads, folder):
    import onnx
    import onnxruntime
    from onnx import TensorProto
    from onnx import helper
    from onnx import numpy_helper

    nodes, inits, prev = [], [], "x"
    for i, (kernel, bias) in enumerate(weights):
        inits.append(numpy_helper.from_array(kernel, f"w{i}"))
        inits.append(numpy_helper.from_array(bias, f"b{i}"))
        nodes.append(helper.make_node("MatMul", [prev, f"w{i}"], [f"m{i}"]))
        nodes.append(helper.make_node("Add", [f"m{i}", f"b{i}"], [f"y{i}"]))
        prev = f"y{i}"
    graph = helper.make_graph(
        nodes,
        "chain",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["r", HIDDEN])],
        [helper.make_tensor_value_info(prev, TensorProto.FLOAT, ["r", HIDDEN])],
        inits,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17)]
    )
    model.ir_version = 8
    path = os.path.join(folder, "chain.onnx")
    onnx.save(model, path)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = (
        onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    )
    session = onnxruntime.InferenceSession(
        path, options, providers=["CPUExecutionProvider"]
    )
    versions = {"onnxruntime": onnxruntime.__version__}
    return (lambda rows: session.run(None, {"x": rows})[0]), versions


def torch_chain(weights, threads, precision="float32"):
    import torch

    torch.set_num_threads(threads)
    dtype = getattr(torch, precision)
    # As HF's `nn.Linear`: the kernel stored (out, in), `F.linear`.
    ws = [
        (torch.from_numpy(k.T.copy()).to(dtype), torch.from_numpy(b).to(dtype))
        for k, b in weights
    ]

    def run(rows):
        with torch.inference_mode():
            x = torch.from_numpy(rows).to(dtype)
            for kernel, bias in ws:
                x = torch.nn.functional.linear(x, kernel, bias)
            return x.float().numpy()

    return run, {"torch": torch.__version__}


def worker_main(backend, threads, precision):
    import numpy as np

    weights = make_weights()
    folder = tempfile.mkdtemp(prefix="small_gemm_")
    if backend in ("xla", "tf", "tf-cached", "tf-eigen"):
        import tensorflow as tf

        run = tensorflow_chain(
            weights, threads, jit=backend == "xla", precision=precision
        )
        versions = {"tensorflow": tf.__version__}
    elif backend == "ort":
        run, versions = ort_chain(weights, threads, folder)
    else:
        run, versions = torch_chain(weights, threads, precision)
    state = {}

    def handle(cmd, msg):
        if cmd == "hello":
            return {
                "versions": versions,
                **{name: os.environ.get(name) for name in ENV_NAMES},
                "pid": os.getpid(),
            }
        if cmd == "prepare":
            if msg.get("first_rows"):  # the call that fixes cached layouts
                run(input_rows(msg["first_rows"]))
            rows = input_rows(msg["rows"])
            for _ in range(3):  # XLA compiles this shape on the first
                out = run(rows)
            state["rows"] = rows
            np.save(msg["save"], out)
            return {}
        if cmd == "run":
            rows, calls = state["rows"], msg["calls"]
            start = time.perf_counter()
            for _ in range(calls):
                run(rows)
            return {"seconds": time.perf_counter() - start}
        return {"error": f"unknown command {cmd!r}"}

    common.serve_pipe(handle)


# === Driver ===


def start_workers(backends, args):
    workers = {}
    for backend in backends:
        env = dict(os.environ)
        for name in ENV_NAMES:
            env.pop(name, None)
        env.update(BACKEND_ENV.get(backend, {}))
        argv = [sys.executable, os.path.abspath(__file__), "--worker"]
        argv += ["--backend", backend, "--threads", str(args.threads)]
        argv += ["--precision", args.precision]
        worker = common.PipeWorker(argv, env=env, name=f"the {backend} worker")
        try:
            worker.hello = worker.ask({"cmd": "hello"})
        except RuntimeError as e:
            if backend != "torch":
                raise
            common.log(f"torch skipped: {e}")
            worker.close()
            continue
        workers[backend] = worker
    return workers


def measure(workers, rows, root, args):
    import numpy as np

    saves = {}
    for backend, worker in workers.items():
        saves[backend] = os.path.join(root, f"{backend}_{rows}.npy")
        message = {"cmd": "prepare", "rows": rows, "save": saves[backend]}
        if backend in FRESH_PER_CELL:
            message["first_rows"] = args.cache_first_rows
        worker.ask(message)
    outputs = {b: np.load(f) for b, f in saves.items()}
    reference = reference_chain(make_weights(), input_rows(rows))
    max_diff = {
        b: float(np.abs(out.astype("f8") - reference).max())
        for b, out in outputs.items()
    }
    # bfloat16 rounds each of the 36 products' inputs to 8 bits of
    # mantissa: differences of a few percent of values of size ~1.
    tolerance = 1e-3 if args.precision == "float32" else 0.25
    wrong = {b: d for b, d in max_diff.items() if d > tolerance}
    if wrong:
        raise RuntimeError(
            f"a backend computed a different chain at {rows} rows (max "
            f"|difference| from float64 NumPy): {wrong}"
        )
    probe = next(iter(workers.values()))
    once = probe.ask({"cmd": "run", "calls": 3})["seconds"] / 3
    calls = max(3, round(args.round_seconds / once))
    times = common.interleaved(
        {
            b: (lambda w=w: w.ask({"cmd": "run", "calls": calls})["seconds"])
            for b, w in workers.items()
        },
        args.rounds,
    )
    ms = {}
    for backend, seconds in times.items():
        per_call = [1000 * s / calls for s in seconds]
        ms[backend] = {
            "median": float(np.median(per_call)),
            "min": min(per_call),
            "max": max(per_call),
        }
    peer = reference_of(args.precision, times)
    vs_peer = {
        b: common.paired_ratios(times, b, [peer])[peer]
        for b in times
        if b != peer and peer in times
    }
    nbytes = weight_bytes(args.precision)
    return {
        "rows": rows,
        "calls_per_round": calls,
        "ms": ms,
        "gflops": {b: flops(rows) / m["median"] / 1e6 for b, m in ms.items()},
        "weight_gb_per_s": {
            b: nbytes / m["median"] / 1e6 for b, m in ms.items()
        },
        "reference": peer,
        "speed_over_reference": vs_peer,
        "max_abs_diff_vs_float64": max_diff,
        "seconds": times,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", default="1,8,16,32,128")
    parser.add_argument(
        "--backends",
        help=f"comma-separated, of {BACKENDS} (default: {DEFAULT_BACKENDS}; "
        "without ort in bfloat16)",
    )
    parser.add_argument(
        "--precision", default="float32", choices=sorted(REFERENCE)
    )
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--round-seconds", type=float, default=0.3)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument(
        "--cache-first-rows",
        type=int,
        help="rows of tf-cached's first call, before each row count's "
        "(default: none, the row count's own call is the first)",
    )
    parser.add_argument("--out", default="small_gemm.jsonl")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--backend", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker_main(args.backend, args.threads, args.precision)
        return
    if args.backends is None:
        backends = list(DEFAULT_BACKENDS)
        if args.precision == "bfloat16":
            backends.remove("ort")
    else:
        backends = [b for b in args.backends.split(",") if b]
    unknown = sorted(set(backends) - set(BACKENDS))
    if unknown:
        parser.error(f"unknown backends {unknown}; choose from {BACKENDS}")
    if args.precision == "bfloat16" and "ort" in backends:
        parser.error("ort has no bfloat16 MatMul on its CPU provider")
    try:
        rows_list = [int(r) for r in args.rows.split(",") if r]
    except ValueError:
        parser.error(f"--rows takes integers, e.g. 1,8,32: {args.rows!r}")
    if not rows_list or min(rows_list) < 1:
        parser.error(f"--rows takes positive integers: {args.rows!r}")

    if args.cache_first_rows is not None and args.cache_first_rows < 1:
        parser.error("--cache-first-rows takes a positive integer")

    start = time.perf_counter()
    kept = [b for b in backends if b not in FRESH_PER_CELL]
    workers = start_workers(kept, args)
    hello = {b: w.hello for b, w in workers.items()}
    cells, table = [], []
    try:
        with tempfile.TemporaryDirectory(prefix="small_gemm_") as root:
            for rows in rows_list:
                fresh = start_workers(
                    [b for b in backends if b in FRESH_PER_CELL], args
                )
                try:
                    hello.update({b: w.hello for b, w in fresh.items()})
                    cell_workers = {
                        b: workers.get(b) or fresh[b]
                        for b in backends
                        if b in workers or b in fresh
                    }
                    cell = measure(cell_workers, rows, root, args)
                finally:
                    for worker in fresh.values():
                        worker.close()
                cells.append(cell)
                table.append(row(cell, list(cell_workers)))
                common.log(table[-1])
    finally:
        for worker in workers.values():
            worker.close()
    backends = [b for b in backends if b in hello]
    result = {
        "benchmark": "small_gemm",
        **common.stamp(),
        "model": "all-MiniLM-L6-v2 matmul shapes (random weights)",
        "precision": args.precision,
        "matrices": len(weight_shapes()),
        "weight_bytes": weight_bytes(args.precision),
        "threads": args.threads,
        "rounds": args.rounds,
        "cache_first_rows": args.cache_first_rows,
        "load_average": os.getloadavg(),
        "workers": {b: hello[b] for b in backends},
        "wall_s": time.perf_counter() - start,
        "cells": cells,
    }
    peer = reference_of(args.precision, backends)
    header = ["rows"] + [f"{b} ms" for b in backends]
    if peer in backends:
        header += [f"{b} / {peer}" for b in backends if b != peer]
        header += [f"{peer} GB/s"]
    common.emit(result, common.format_table(header, table), args.out)


def row(cell, backends):
    out = [cell["rows"]]
    out += [f"{cell['ms'][b]['median']:.2f}" for b in backends]
    peer = cell["reference"]
    if peer in backends:
        out += [
            common.fmt_ratio(cell["speed_over_reference"][b])
            for b in backends
            if b != peer
        ]
        out += [f"{cell['weight_gb_per_s'][peer]:.0f}"]
    return out


if __name__ == "__main__":
    main()
