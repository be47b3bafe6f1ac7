"""What a server needs beside the graph: batching file and serving notes.

Two text files go into the version's `assets.extra/` (TF Serving ignores
everything there but its warmup file, and they move with the version):

* `batching_parameters.txt`: a TF Serving `BatchingParameters` text proto
  for `--enable_batching --batching_parameters_file=...`. Its allowed
  batch sizes are the export's own batch buckets (the graph pads an
  XLA-bound batch to a power of two, so a server batching to other sizes
  would pad twice), up to `max_batch_size(max_length)`: the largest
  batch whose rows x `max_length` stays within `MAX_BATCH_TOKENS`,
  measured on real text (`benchmarks/bench_serving_e2e.py`).
* `SERVING.md`: the flags to start TF Serving with for this export (XLA,
  threads, batching, and for a bfloat16 export on TensorFlow's kernels
  the oneDNN weight cache), and how it runs (which requests XLA compiles,
  precision, length buckets), so an operator does not have to read this
  package.
"""

import os
import shlex

from keras_bert_impl.runtime import FROZEN_WEIGHTS_ENV
from keras_bert_impl.runtime import XLA_ALL_REQUESTS

NOTES_FILE = "SERVING.md"
BATCHING_FILE = "batching_parameters.txt"
# Batching on real text (benchmarks/bench_serving_e2e.py, 2026-12-06,
# all-MiniLM-L6-v2 exports, 2 cores): on 128-token articles batch 32 served
# 1.31-1.72x the sentences/s of batch 1; at 512 tokens batch 8 and 32 were
# 0.87-1.23x and 0.88-1.11x batch 1, no gain. Batches pay up to about
# 4,096 tokens (32 rows x 128); past that they only add latency.
MAX_BATCH_TOKENS = 4096
MAX_BATCH_SIZE = 32
# How long a request waits for others to fill a batch: 2 ms costs a
# batch-1 client under 10% of a MiniLM call (~20 ms) on 2 cores.
BATCH_TIMEOUT_MICROS = 2000
# TF Serving refuses a version with XLA-compiled functions unless started
# with this flag (on a CPU host).
XLA_SERVER_FLAG = "--xla_cpu_compilation_enabled=true"


def docker_command(model_folder, name: str, xla_max_tokens: int) -> str:
    """The `docker run` line that serves `model_folder` (the folder of an
    export's integer versions) as model `name` with TF Serving's image,
    REST on port 8501; with `XLA_SERVER_FLAG` when the export runs any
    request XLA-compiled (`xla_max_tokens` as
    `runtime.resolve_serving_jit_compile` returns it). `SERVING.md` has
    the rest (threads, batching).

    Example:
    >>> print(docker_command("/srv/models/topics", "topics", 128))
    docker run -p 8501:8501 -v /srv/models/topics:/models/topics
    -e MODEL_NAME=topics tensorflow/serving --xla_cpu_compilation_enabled=true
    """
    volume = shlex.quote(f"{os.path.abspath(model_folder)}:/models/{name}")
    flags = f" {XLA_SERVER_FLAG}" if xla_max_tokens > 0 else ""
    return (
        f"docker run -p 8501:8501 -v {volume} -e MODEL_NAME={name} "
        f"tensorflow/serving{flags}"
    )


def max_batch_size(max_length: int) -> int:
    """The largest power-of-two batch within `MAX_BATCH_TOKENS` tokens.

    At least 1 and at most `MAX_BATCH_SIZE`.

    Example:
    >>> max_batch_size(128), max_batch_size(512), max_batch_size(64)
    (32, 8, 32)
    """
    size = 1
    while (
        size * 2 <= MAX_BATCH_SIZE and size * 2 * max_length <= MAX_BATCH_TOKENS
    ):
        size *= 2
    return size


def batching_parameters(max_length: int, num_cores: int | None = None) -> str:
    """The `BatchingParameters` text proto of an export.

    Args:
        max_length: int. The export's maximum tokens per input.
        num_cores: optional int. Batch threads (default: this host's).

    Example:
    >>> print(batching_parameters(512, num_cores=4))
    max_batch_size { value: 8 }
    batch_timeout_micros { value: 2000 }
    num_batch_threads { value: 4 }
    max_enqueued_batches { value: 100 }
    allowed_batch_sizes: 1
    allowed_batch_sizes: 2
    allowed_batch_sizes: 4
    allowed_batch_sizes: 8
    pad_variable_length_inputs: false
    """
    cores = num_cores or os.cpu_count() or 1
    largest = max_batch_size(max_length)
    sizes = [2**i for i in range(largest.bit_length())]  # 1, 2, ..., largest
    lines = [
        f"max_batch_size {{ value: {largest} }}",
        f"batch_timeout_micros {{ value: {BATCH_TIMEOUT_MICROS} }}",
        f"num_batch_threads {{ value: {cores} }}",
        "max_enqueued_batches { value: 100 }",
        *(f"allowed_batch_sizes: {n}" for n in sizes),
        "pad_variable_length_inputs: false",
    ]
    return "\n".join(lines) + "\n"


def serving_notes(
    name: str,
    xla_max_tokens: int,
    precision: str,
    length_buckets,
    max_length: int,
    num_cores: int | None = None,
) -> str:
    """The `SERVING.md` text of an export (`xla_max_tokens` as
    `runtime.resolve_serving_jit_compile` returns it)."""
    cores = num_cores or os.cpu_count() or 1
    lengths = ", ".join(str(n) for n in length_buckets)
    padding = (
        "XLA compiles once per shape: such a request is padded to a power of "
        "two rows and to the next of these lengths (one compilation each, "
        "replayed by the warmup requests at load, up to the batching file's "
        f"largest batch): {lengths}."
    )
    flag = (
        f"start TF Serving with `{XLA_SERVER_FLAG}` (on a "
        "CPU host), or it refuses the version."
    )
    if xla_max_tokens >= XLA_ALL_REQUESTS:
        kernels = f"Every request runs XLA-compiled: {flag} {padding}"
    elif xla_max_tokens > 0:
        kernels = (
            f"Requests of up to {xla_max_tokens} tokens (padded rows x "
            "padded length) run XLA-compiled, larger ones on TensorFlow's "
            "own (oneDNN) kernels, unpadded (the encoder's token-wise layers "
            f"also skip the padding of a batch's shorter rows): {flag} "
            f"{padding}"
        )
    else:
        kernels = (
            "The numeric model runs on TensorFlow's own (oneDNN) kernels, "
            "on each batch as it comes (no padding; the encoder's "
            "token-wise layers also skip the padding of a batch's shorter "
            "rows); no XLA flag is needed."
        )
    xla_flag = f"        {XLA_SERVER_FLAG} \\\n" if xla_max_tokens > 0 else ""
    weights = f"Precision: {precision} weights"
    if precision == "bfloat16":
        weights += (
            " (matmuls on bfloat16 operands: fast on CPUs with AVX-512 BF16"
            " or AMX, slower than float32 elsewhere)"
        )
    batching = f"/models/{name}/<version>/assets.extra/{BATCHING_FILE}"
    # bfloat16 on TensorFlow's kernels: oneDNN's weight cache measured
    # 1.00-1.30x on real text; float32 within noise (0.94-1.05x and
    # 0.98-1.01x in two runs), so not advised there
    # (benchmarks/bench_onednn_weights.py, README Serving). In float32 a
    # kernel caches the layout of its first call's row class (8-64 rows
    # or not) and re-lays its weight at every call of the other class,
    # slower than no cache (0.54-0.82x, benchmarks/bench_small_gemm.py
    # --cache-first-rows); bfloat16 has one layout for all rows.
    cache = precision == "bfloat16" and xla_max_tokens < XLA_ALL_REQUESTS
    env = f"{FROZEN_WEIGHTS_ENV}=1 " if cache else ""
    cache_note = (
        f"Environment: `{FROZEN_WEIGHTS_ENV}=1` (`docker run -e "
        f"{FROZEN_WEIGHTS_ENV}=1 ...`) lets TensorFlow's oneDNN kernels "
        "convert each weight into their blocked bfloat16 layout once, "
        "instead of at every call (measured 1.00-1.30x on real text, the "
        "most at batch 1, with TensorFlow 2.21 in Python; it does nothing "
        "where oneDNN is off). Only for a serving process: a process that "
        "trains must not set it (its kernels would keep the first weights "
        "they saw; keras_bert_impl refuses to train with it set).\n\n"
        if cache
        else ""
    )
    return (
        f"# Serving `{name}`\n\n"
        "Raw text in (`serving_default`), written by keras_bert_impl.\n\n"
        f"{kernels}\n\n"
        f"{weights}; outputs float32. Inputs longer than {max_length} "
        "tokens are cut.\n\n"
        "## Flags\n\n"
        f"    {env}tensorflow_model_server --model_name={name} \\\n"
        f"        --model_base_path=/models/{name} \\\n"
        f"{xla_flag}"
        f"        --tensorflow_intra_op_parallelism={cores} \\\n"
        f"        --tensorflow_inter_op_parallelism={cores} \\\n"
        "        --enable_batching \\\n"
        f"        --batching_parameters_file={batching}\n\n"
        "Threads: intra-op and inter-op both = the cores the server may use "
        f"({cores} on the exporting host; set the serving host's): one op "
        "uses every core, and the ops of a call that do not wait for each "
        "other (the query, key and value projections) run side by side. "
        "Measured against inter-op 1 on real text: 1.03-1.21x at batch 1 "
        "for an export on TensorFlow's kernels (bfloat16, or "
        "jit_compile=False), within noise for batches of 32 and for "
        "requests that run XLA-compiled (keras_bert_impl's README, "
        'Serving, "Inter-op threads"). Concurrency comes from '
        "batching.\n\n"
        f"{cache_note}"
        f"Batching (`{BATCHING_FILE}`): batches of up to "
        f"{max_batch_size(max_length)} rows (measured: beyond "
        f"{MAX_BATCH_TOKENS} tokens a batch stops paying on a CPU), in the "
        "export's own power-of-two sizes; a request waits at "
        f"most {BATCH_TIMEOUT_MICROS} microseconds for company.\n"
    )


def write_deploy_notes(
    export_dir: str,
    name: str,
    xla_max_tokens: int,
    precision: str,
    length_buckets,
    max_length: int,
) -> None:
    """Writes `SERVING.md` and `batching_parameters.txt` into
    `export_dir/assets.extra/` (inside the staged version)."""
    folder = os.path.join(export_dir, "assets.extra")
    os.makedirs(folder, exist_ok=True)
    texts = {
        BATCHING_FILE: batching_parameters(max_length),
        NOTES_FILE: serving_notes(
            name, xla_max_tokens, precision, length_buckets, max_length
        ),
    }
    for file_name, text in texts.items():
        with open(os.path.join(folder, file_name), "w") as f:
            f.write(text)
