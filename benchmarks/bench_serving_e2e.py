"""Raw text to outputs through the exported SavedModel, against its peers.

Ours is the export as TF Serving runs it: `export_savedmodel` writes the
model and its tokenizer, this process (TensorFlow + tensorflow-text)
loads it, and every call is `serving_default` on a batch of raw Python
strings with all its outputs as numpy (the string array is made inside
the timed call, as every peer gets its strings). `--runner` picks how
(`common.LoadedSavedModel`): `session` (default) imports the SavedModel's
`serve` graph into a `Session` and feeds and fetches the signature's
tensors by name, what TF Serving's C++ `SavedModelBundle` does;
`function` calls the signature's concrete function of
`tf.saved_model.load` from Python, as a TF2 script would (about 1 ms more
per call here). Variants of the export are named by `--ours` and map to
`export_savedmodel` keyword arguments (`VARIANTS`, extended with
`--variant NAME=JSON`); a variant whose keywords the installed
`export_savedmodel` does not take (e.g. `precision="bfloat16"` before it
exists) is skipped with a note.
`--onednn-frozen-weights` sets `TF_ONEDNN_ASSUME_FROZEN_WEIGHTS=1` in this
process before TensorFlow loads, as a bfloat16 export's `SERVING.md`
tells the server (oneDNN keeps its own copy of each weight; this process
trains nothing); the result line records the setting.

Two models, both on the real all-MiniLM-L6-v2 (6 layers, hidden 384):
`encoder` (outputs `sequence_output` and `pooled_output`) and
`classifier` (`BertClassifier`, a random 2-class head; saved with
`save_checkpoint` as a Hugging Face task folder that the torch peers
load, so every peer carries the same weights).

Real text of two length profiles: `short` = Rotten Tomatoes snippets
(fresh/rotten rows, `--short-sentences`, default 512, cut at 128 tokens);
`long128` / `long512` = BBC News articles (title + body,
`--long-sentences`, default 128) cut at 128 / 512 tokens (the export's
`max_length` and the peers' truncation). Sentences are a seeded sample.

Peers, in the same interleaved rounds (`common.interleaved`: each peer
once per round over the whole sentence set, order rotated every round):

- `hf:fp32` / `hf:bf16`: Hugging Face fast tokenizer (pad to the batch's
  longest, truncate at max_length) + torch eager `BertModel` /
  `BertForSequenceClassification` under `torch.inference_mode()`; bf16 is
  `model.to(torch.bfloat16)`.
- `ort:fp32`: ONNX Runtime on the same HF model exported with the legacy
  exporter (eager attention, opset 17, dynamic batch and length) and
  fused by `onnxruntime.transformers.optimizer.optimize_model`
  (model_type="bert"); same fast tokenizer.
- `keras_hub:<fp32|bf16>-<xla|noxla>`: `keras_hub.models.BertBackbone`
  with the same weights (`to_keras_hub(..., approximate_gelu=True)`;
  classifier: `BertTextClassifier` with our head's weights), fed by a
  `tf.data` pipeline (batch + map of this package's `BertTokenizer`,
  padded to the batch's longest) and called in a `tf.function`; bf16 is
  `mixed_bfloat16`.

The torch and ONNX Runtime peers run in a worker process (this script
with `--worker`, no TensorFlow imported there), driven over a JSON-lines
pipe, so their thread pools never compete with TensorFlow's. Every peer
gets `--threads` threads (TF intra/inter-op and tf.data, torch intra/
inter-op, ORT intra-op); the result line records them.

Per (model, profile, batch size, peer): one untimed warmup pass over all
sentences first (its first call and the whole pass are reported as
`first_call_s` and `warmup_pass_s`: tracing, XLA compilation, session
setup), then `--rounds` timed passes; sentences/s median [min-max] and the
per-round speed ratio ours/peer (median [min-max], > 1: ours faster).

Correctness, from the warmup pass at `--check-batch`: against `hf:fp32`,
max |difference| of `sequence_output` at real tokens and of
`pooled_output` (encoder) or of the probabilities plus argmax agreement
(classifier), over the sentences whose token ids equal HF's (the others
are counted); bf16 peers also against their own fp32 sibling.

One JSON line per run goes to `benchmarks/results/serving_e2e.jsonl`
(`--out`), then a readable table is printed.

    python benchmarks/bench_serving_e2e.py --rounds 5
    python benchmarks/bench_serving_e2e.py --rounds 1 --profiles short \\
        --batch-sizes 1,8 --models classifier --max-sentences 32
"""

import argparse
import importlib.metadata
import inspect
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

import common  # noqa: E402
import numpy as np  # noqa: E402

SEED = 1234
LABELS = ("negative", "positive")
MODELS = ("encoder", "classifier")
# Profile -> (text source, max_length: the export's and the peers' cut).
PROFILES = {
    "short": ("rotten_tomatoes", 128),
    "long128": ("bbc", 128),
    "long512": ("bbc", 512),
}
# Ours: variant name -> `export_savedmodel` keyword arguments. Add a
# variant here (or with --variant NAME=JSON) when `export_savedmodel`
# gains a keyword, e.g. "fp32-xla-buckets": {"jit_compile": True,
# "length_buckets": [...]}. Keywords the installed export_savedmodel does
# not take make the variant skipped, with a note.
VARIANTS = {
    # The export as shipped: `jit_compile="auto"` (on a CPU host, float32:
    # small requests XLA-compiled, larger ones on TensorFlow's kernels).
    "fp32-auto": {},
    "fp32-xla": {"jit_compile": True},
    "fp32-noxla": {"jit_compile": False},
    "bf16-xla": {"jit_compile": True, "precision": "bfloat16"},
    "bf16-noxla": {"jit_compile": False, "precision": "bfloat16"},
}
BF16_NAMES = ("bfloat16", "bf16", "mixed_bfloat16")
REFERENCE = "hf:fp32"
VERSIONS = (
    "tensorflow",
    "tensorflow-text",
    "keras",
    "keras-hub",
    "torch",
    "transformers",
    "tokenizers",
    "onnxruntime",
    "onnx",
    "numpy",
)


# === Data ===


def load_texts(profile, args):
    """The profile's sentences: a seeded sample of real text."""
    import finetune_data

    source, _ = PROFILES[profile]
    if source == "rotten_tomatoes":
        rows, n = finetune_data.rotten_tomatoes_rows(), args.short_sentences
    else:
        rows, n = finetune_data.bbc_rows(), args.long_sentences
    if args.max_sentences:
        n = min(n, args.max_sentences)
    texts = [text for _, text in rows]
    return random.Random(SEED).sample(texts, min(n, len(texts)))


def batches_of(texts, batch_size):
    return [texts[i : i + batch_size] for i in range(0, len(texts), batch_size)]


# === Outputs, normalized for the correctness check ===


def gather(outputs, kind):
    """Per-batch output dicts -> flat numpy arrays over the sentences.

    Each dict has `token_ids` and `padding_mask` (batch, seq) and either
    `sequence_output` + `pooled_output` (encoder) or `probabilities`.
    """
    ids, lengths, seq, pooled, probs = [], [], [], [], []
    for out in outputs:
        mask = np.asarray(out["padding_mask"]).astype(bool)
        token_ids = np.asarray(out["token_ids"], np.int64)
        if kind == "encoder":
            sequence = np.asarray(out["sequence_output"], np.float32)
            pooler = out.get("pooled_output")
            pooler = None if pooler is None else np.asarray(pooler, np.float32)
        else:
            probabilities = np.asarray(out["probabilities"], np.float32)
        for i, row in enumerate(mask):
            ids.append(token_ids[i][row])
            lengths.append(int(row.sum()))
            if kind != "encoder":
                probs.append(probabilities[i])
                continue
            seq.append(sequence[i][row])
            if pooler is not None:
                pooled.append(pooler[i])
    result = {"ids": np.concatenate(ids), "lengths": np.array(lengths)}
    if seq:
        result["seq"] = np.concatenate(seq)
    if pooled:
        result["pooled"] = np.stack(pooled)
    if probs:
        result["probs"] = np.stack(probs)
    return result


def sibling(peer):
    """The fp32 counterpart of a bf16 peer (None for fp32 peers)."""
    group, _, mode = peer.partition(":")
    if not mode.startswith("bf16"):
        return None
    return f"{group}:fp32{mode[4:]}"


class Checker:
    """Differences of every peer's outputs to `hf:fp32` and bf16 siblings."""

    def __init__(self, kind):
        self.kind = kind
        self.ref = None
        self.small = {}  # peer -> pooled / probs (siblings' comparisons)
        self.results = {}

    def add(self, peer, data):
        if self.kind == "encoder":
            self.small[peer] = data.get("pooled")
        else:
            self.small[peer] = data["probs"]
        if peer == REFERENCE:
            self.ref = data
            self.results[peer] = {"reference": True}
            return
        result = {}
        if self.ref is not None:
            result.update(self._against_reference(data))
        twin = sibling(peer)
        if twin is not None and self.small.get(twin) is not None:
            result["vs_fp32_sibling"] = twin
            result.update(
                self._compare_small(self.small[peer], self.small[twin], "fp32")
            )
        self.results[peer] = result

    def _compare_small(self, ours, theirs, tag, keep=None):
        if keep is not None:
            ours, theirs = ours[keep], theirs[keep]
        if ours is None or theirs is None or not len(ours):
            return {}
        diff = float(np.abs(ours - theirs).max())
        if self.kind == "encoder":
            return {f"pooled_max_abs_vs_{tag}": diff}
        agree = float((ours.argmax(-1) == theirs.argmax(-1)).mean())
        return {f"prob_max_abs_vs_{tag}": diff, f"argmax_agree_vs_{tag}": agree}

    def _against_reference(self, data):
        ref = self.ref
        ours_ids = np.split(data["ids"], np.cumsum(data["lengths"])[:-1])
        ref_ids = np.split(ref["ids"], np.cumsum(ref["lengths"])[:-1])
        same = np.array(
            [
                a.shape == b.shape and (a == b).all()
                for a, b in zip(ours_ids, ref_ids, strict=True)
            ]
        )
        result = {
            "sentences": len(same),
            "token_mismatches": int((~same).sum()),
        }
        if self.kind == "encoder":
            tokens = np.repeat(same, data["lengths"])
            ref_tokens = np.repeat(same, ref["lengths"])
            if tokens.any():
                diff = np.abs(data["seq"][tokens] - ref["seq"][ref_tokens])
                result["seq_max_abs_vs_hf"] = float(diff.max())
                result["seq_mean_abs_vs_hf"] = float(diff.mean())
            if "pooled" in data and "pooled" in ref:
                result.update(
                    self._compare_small(
                        data["pooled"], ref["pooled"], "hf", same
                    )
                )
        else:
            result.update(
                self._compare_small(data["probs"], ref["probs"], "hf", same)
            )
        return result


# === The torch / ONNX Runtime worker (a subprocess; no TensorFlow) ===


class Worker:
    """Runs in the worker process: HF torch and ORT peers, by name."""

    def __init__(self, threads):
        import torch
        import transformers

        self.torch, self.transformers = torch, transformers
        transformers.logging.set_verbosity_error()
        transformers.utils.logging.disable_progress_bar()
        warnings.filterwarnings("ignore")
        torch.set_num_threads(threads)
        self.threads = threads
        self.models = {}  # (peer, kind) -> (call(batch, max_length), info)
        self.passes = {}  # peer -> callable over the current batches
        self.texts = {}

    def hello(self):
        import onnxruntime

        torch = self.torch
        return {
            "torch": torch.__version__,
            "transformers": self.transformers.__version__,
            "onnxruntime": onnxruntime.__version__,
            "torch_threads": torch.get_num_threads(),
            "torch_interop_threads": torch.get_num_interop_threads(),
            "ort_intra_op_threads": self.threads,
            "ort_inter_op_threads": 1,
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
            "pid": os.getpid(),
        }

    def _tokenizer(self, folder):
        tokenizer = self.transformers.AutoTokenizer.from_pretrained(folder)
        if not tokenizer.is_fast:
            raise RuntimeError(f"no fast tokenizer in {folder}")
        return tokenizer

    def _load(self, peer, kind, folder, onnx_dir):
        key = (peer, kind)
        if key in self.models:
            return self.models[key], None
        start = time.perf_counter()
        if peer.startswith("hf:"):
            made = self._hf(peer, kind, folder)
        elif peer == "ort:fp32":
            made = self._ort(kind, folder, onnx_dir)
        else:
            raise ValueError(f"unknown worker peer {peer!r}")
        self.models[key] = made
        return made, time.perf_counter() - start

    def _hf(self, peer, kind, folder):
        torch, transformers = self.torch, self.transformers
        cls = (
            transformers.BertModel
            if kind == "encoder"
            else transformers.BertForSequenceClassification
        )
        model = cls.from_pretrained(folder, dtype=torch.float32).eval()
        if peer == "hf:bf16":
            model = model.to(torch.bfloat16)
        tokenizer = self._tokenizer(folder)

        def call(batch, max_length):
            enc = tokenizer(
                batch,
                padding=True,
                truncation=True,
                max_length=max_length,
                return_tensors="pt",
            )
            with torch.inference_mode():
                out = model(**enc)
            result = {
                "token_ids": enc["input_ids"].numpy(),
                "padding_mask": enc["attention_mask"].numpy(),
            }
            if kind == "encoder":
                result["sequence_output"] = (
                    out.last_hidden_state.float().numpy()
                )
                result["pooled_output"] = out.pooler_output.float().numpy()
            else:
                probs = torch.softmax(out.logits.float(), -1).numpy()
                result["probabilities"] = probs
                result["label_id"] = probs.argmax(-1)
            return result

        info = {
            "attn_implementation": model.config._attn_implementation,
            "tokenizer": type(tokenizer).__name__,
        }
        return call, info

    def _ort(self, kind, folder, onnx_dir):
        import onnxruntime
        from onnxruntime.transformers import optimizer

        torch, transformers = self.torch, self.transformers
        cls = (
            transformers.BertModel
            if kind == "encoder"
            else transformers.BertForSequenceClassification
        )
        model = cls.from_pretrained(
            folder, dtype=torch.float32, attn_implementation="eager"
        ).eval()
        tokenizer = self._tokenizer(folder)
        names = ["input_ids", "attention_mask", "token_type_ids"]

        class Wrapper(torch.nn.Module):
            # BertModel refuses positional export ("multiple values for
            # use_cache"): call it by keyword.
            def __init__(self, inner):
                super().__init__()
                self.inner = inner

            def forward(self, input_ids, attention_mask, token_type_ids):
                out = self.inner(
                    input_ids=input_ids,
                    attention_mask=attention_mask,
                    token_type_ids=token_type_ids,
                )
                if kind == "encoder":
                    return out.last_hidden_state, out.pooler_output
                return out.logits

        outputs = (
            ["sequence_output", "pooled_output"]
            if kind == "encoder"
            else ["logits"]
        )
        axes = {n: {0: "batch", 1: "seq"} for n in names}
        axes.update({n: {0: "batch"} for n in outputs})
        if kind == "encoder":
            axes["sequence_output"] = {0: "batch", 1: "seq"}
        sample = tokenizer(
            ["A short one.", "A somewhat longer sentence for the export."],
            padding=True,
            return_tensors="pt",
        )
        raw = os.path.join(onnx_dir, f"{kind}.onnx")
        fused = os.path.join(onnx_dir, f"{kind}_fused.onnx")
        torch.onnx.export(
            Wrapper(model).eval(),
            tuple(sample[n] for n in names),
            raw,
            input_names=names,
            output_names=outputs,
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
        optimized = optimizer.optimize_model(
            raw,
            model_type="bert",
            num_heads=model.config.num_attention_heads,
            hidden_size=model.config.hidden_size,
        )
        optimized.save_model_to_file(fused)
        fusions = {
            k: v
            for k, v in optimized.get_fused_operator_statistics().items()
            if v
        }
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = (
            onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        )
        session = onnxruntime.InferenceSession(
            fused, options, providers=["CPUExecutionProvider"]
        )
        inputs = [i.name for i in session.get_inputs()]

        def call(batch, max_length):
            enc = tokenizer(
                batch,
                padding=True,
                truncation=True,
                max_length=max_length,
                return_tensors="np",
            )
            out = session.run(None, {n: enc[n] for n in inputs})
            result = {
                "token_ids": enc["input_ids"],
                "padding_mask": enc["attention_mask"],
            }
            if kind == "encoder":
                result["sequence_output"], result["pooled_output"] = out
            else:
                logits = out[0] - out[0].max(-1, keepdims=True)
                probs = np.exp(logits)
                probs /= probs.sum(-1, keepdims=True)
                result["probabilities"] = probs
                result["label_id"] = probs.argmax(-1)
            return result

        info = {
            "fused_operators": fusions,
            "intra_op_num_threads": options.intra_op_num_threads,
            "inter_op_num_threads": options.inter_op_num_threads,
        }
        return call, info

    def prepare(self, msg):
        """Builds (or reuses) a peer, runs its warmup pass on new batches."""
        peer, kind = msg["peer"], msg["kind"]
        (call, info), load_s = self._load(
            peer, kind, msg["folder"], msg["onnx_dir"]
        )
        path = msg["texts"]
        if path not in self.texts:
            with open(path, encoding="utf-8") as f:
                self.texts[path] = json.load(f)
        batches = batches_of(self.texts[path], msg["batch_size"])
        max_length = msg["max_length"]

        def one_pass(collect=False):
            outs = [call(batch, max_length) for batch in batches]
            return outs if collect else None

        start = time.perf_counter()
        call(batches[0], max_length)
        first = time.perf_counter() - start
        start = time.perf_counter()
        outs = one_pass(collect=bool(msg.get("collect")))
        warm = time.perf_counter() - start
        if outs is not None:
            np.savez(msg["collect"], **gather(outs, kind))
        self.passes[peer] = one_pass
        reply = {"first_call_s": first, "warmup_pass_s": warm, "info": info}
        if load_s is not None:
            reply["load_s"] = load_s
        return reply

    def run(self, peer):
        start = time.perf_counter()
        self.passes[peer]()
        return {"seconds": time.perf_counter() - start}


def worker_main(threads):
    """The worker's loop (`common.serve_pipe`): hello, prepare, run."""
    state = {}

    def handle(cmd, msg):
        if cmd == "hello":
            state["worker"] = Worker(threads)
            return state["worker"].hello()
        if cmd == "prepare":
            return state["worker"].prepare(msg)
        if cmd == "run":
            return state["worker"].run(msg["peer"])
        return {"error": f"unknown command {cmd!r}"}

    common.serve_pipe(handle)


class WorkerClient(common.PipeWorker):
    """The driver's side of the worker pipe; `hello` holds its versions."""

    def __init__(self, python_exe, threads):
        super().__init__(
            [python_exe, os.path.abspath(__file__), "--worker"]
            + ["--threads", str(threads)],
            env=dict(os.environ, OMP_NUM_THREADS=str(threads)),
        )
        self.hello = self.ask({"cmd": "hello"})


# === This process: ours and keras-hub ===


def variant_table(args):
    table = dict(VARIANTS)
    for spec in args.variant:
        name, _, kwargs = spec.partition("=")
        table[name.strip()] = json.loads(kwargs)
    return table


def precision_of(kwargs):
    return "bf16" if str(kwargs.get("precision")) in BF16_NAMES else "fp32"


def usable_variants(args, notes):
    """Ours: name -> export kwargs the installed export_savedmodel takes."""
    from keras_bert_impl.export import export_savedmodel

    accepted = inspect.signature(export_savedmodel).parameters
    table, chosen = variant_table(args), {}
    for name in filter(None, args.ours.split(",")):
        if name not in table:
            raise SystemExit(
                f"unknown --ours variant {name!r}; known: {sorted(table)} "
                "(add one with --variant NAME=JSON)"
            )
        missing = [k for k in table[name] if k not in accepted]
        if missing:
            note = (
                f"ours:{name} skipped: the installed export_savedmodel "
                f"takes no {missing}"
            )
            common.log(note)
            notes.append(note)
            continue
        chosen[name] = table[name]
    return chosen


class Models:
    """The Keras models, the exports and the keras-hub peers of one run."""

    def __init__(self, root, threads, runner="session"):
        import keras

        from keras_bert_impl import assets
        from keras_bert_impl.checkpoints.io import load_checkpoint
        from keras_bert_impl.checkpoints.io import save_checkpoint
        from keras_bert_impl.models import BertClassifier
        from keras_bert_impl.tokenization.bert_tokenizer import BertTokenizer

        self.root, self.threads, self.runner = root, threads, runner
        self.minilm = str(assets.asset_path(assets.MINILM, assets.MINILM_DIR))
        self.tokenizer = BertTokenizer.load(self.minilm)
        keras.utils.set_random_seed(0)
        self.encoder, self.config = load_checkpoint(self.minilm)
        self.classifier = BertClassifier(self.encoder, label_names=LABELS)
        # The torch peers load the classifier from a HF task folder.
        self.folders = {
            "encoder": self.minilm,
            "classifier": str(
                save_checkpoint(
                    self.classifier,
                    os.path.join(root, "hf_classifier"),
                    vocab=self.tokenizer,
                )
            ),
        }
        self.exports = {}
        self.hub = {}
        self.hub_forward = {}
        self.load_s = {}

    def keras_model(self, kind):
        return self.encoder if kind == "encoder" else self.classifier

    def export(self, kind, max_length, variant, kwargs):
        """The loaded export (cached): export_savedmodel, then loaded for
        `self.runner` (`common.LoadedSavedModel`)."""
        from keras_bert_impl.export import export_savedmodel

        key = (kind, max_length, variant)
        if key not in self.exports:
            start = time.perf_counter()
            path = export_savedmodel(
                self.keras_model(kind),
                self.tokenizer,
                os.path.join(self.root, f"{kind}_{max_length}_{variant}", "1"),
                max_length=max_length,
                warmup=False,
                **kwargs,
            )
            exported = time.perf_counter() - start
            self.exports[key] = common.LoadedSavedModel(
                path, self.runner, self.threads
            )
            self.load_s[f"ours:{variant}/{kind}/{max_length}"] = {
                "export_s": exported,
                "load_s": time.perf_counter() - start - exported,
            }
        return self.exports[key]

    def keras_hub(self, kind, precision, jit):
        """A cached `tf.function` over the keras-hub model."""
        import keras
        import tensorflow as tf

        key = (kind, precision, jit)
        if key in self.hub_forward:
            return self.hub_forward[key]
        if (kind, precision) not in self.hub:
            import keras_hub

            from keras_bert_impl.checkpoints.keras_hub import to_keras_hub

            start = time.perf_counter()
            dtype = "mixed_bfloat16" if precision == "bf16" else "float32"
            model = to_keras_hub(
                self.encoder, approximate_gelu=True, dtype=dtype
            )
            if kind == "classifier":
                head = self.classifier.get_layer(self.classifier.HEAD_LAYER)
                model = keras_hub.models.BertTextClassifier(
                    model, num_classes=len(LABELS), preprocessor=None
                )
                model.output_dense.set_weights(head.get_weights())
            self.hub[(kind, precision)] = model
            self.load_s[f"keras_hub:{precision}/{kind}"] = {
                "build_s": time.perf_counter() - start
            }
        model = self.hub[(kind, precision)]

        def forward(inputs):
            out = model(inputs, training=False)
            if kind == "encoder":
                return {
                    "sequence_output": keras.ops.cast(
                        out["sequence_output"], "float32"
                    ),
                    "pooled_output": keras.ops.cast(
                        out["pooled_output"], "float32"
                    ),
                }
            logits = keras.ops.cast(out, "float32")
            return {"probabilities": tf.nn.softmax(logits)}

        self.hub_forward[key] = tf.function(forward, jit_compile=jit)
        return self.hub_forward[key]

    def pipeline(self, texts, batch_size, max_length):
        """tf.data: batch, then this package's tokenizer (map), prefetch."""
        import tensorflow as tf

        from keras_bert_impl.tokenization.packing import pack_segments

        tokenizer = self.tokenizer

        def encode(batch):
            packed, _ = pack_segments(
                [tokenizer.tokenize(batch)],
                max_length,
                cls_id=tokenizer.cls_id,
                sep_id=tokenizer.sep_id,
                pad_id=tokenizer.pad_id,
                pad_to_max_length=False,
            )
            return packed

        options = tf.data.Options()
        options.threading.private_threadpool_size = self.threads
        return (
            tf.data.Dataset.from_tensor_slices(texts)
            .batch(batch_size)
            .map(encode, num_parallel_calls=tf.data.AUTOTUNE)
            .prefetch(tf.data.AUTOTUNE)
            .with_options(options)
        )


def ours_pass(loaded, kind, batches):
    """One pass of `serving_default` over `batches` (lists of str)."""
    serve = loaded.signature("serving_default")
    tokenize = loaded.signature("tokenize")

    def one(batch):
        return serve(text=batch)

    def run(collect=False):
        outs = []
        for batch in batches:
            out = one(batch)
            if collect:
                if "padding_mask" not in out:
                    ids = tokenize(text=batch)
                    out["token_ids"] = ids["token_ids"]
                    out["padding_mask"] = ids["padding_mask"]
                outs.append(out)
        return outs if collect else None

    return one, run


def hub_pass(forward, dataset):
    def one(_batch):
        for inputs in dataset.take(1):
            return {k: v.numpy() for k, v in forward(inputs).items()}

    def run(collect=False):
        outs = []
        for inputs in dataset:
            out = {k: v.numpy() for k, v in forward(inputs).items()}
            if collect:
                out["token_ids"] = inputs["token_ids"].numpy()
                out["padding_mask"] = inputs["padding_mask"].numpy()
                outs.append(out)
        return outs if collect else None

    return one, run


def warm_local(one, run, first_batch, kind, collect):
    """First call + untimed warmup pass of an in-process peer."""
    start = time.perf_counter()
    one(first_batch)
    first = time.perf_counter() - start
    start = time.perf_counter()
    outs = run(collect=collect)
    warm = time.perf_counter() - start
    data = gather(outs, kind) if collect else None
    return {"first_call_s": first, "warmup_pass_s": warm}, data


# === One setting: (model, profile, batch size) ===


def measure(ctx, kind, profile, batch_size):
    args, models = ctx["args"], ctx["models"]
    texts = ctx["texts"][profile]
    max_length = PROFILES[profile][1]
    collect = batch_size == ctx["check_batch"]
    checker = Checker(kind) if collect else None
    warm, runners = {}, {}
    tag = f"[{kind}/{profile}/b{batch_size}]"

    worker = ctx["worker"]
    for peer in list(ctx["worker_peers"]):
        common.log(tag, "warming", peer)
        path = os.path.join(ctx["root"], "collect.npz") if collect else None
        try:
            reply = worker.ask(
                {
                    "cmd": "prepare",
                    "peer": peer,
                    "kind": kind,
                    "folder": models.folders[kind],
                    "onnx_dir": ctx["root"],
                    "texts": ctx["text_files"][profile],
                    "batch_size": batch_size,
                    "max_length": max_length,
                    "collect": path,
                }
            )
        except RuntimeError as e:
            note = f"{peer} dropped ({kind}/{profile}/b{batch_size}): {e}"
            common.log(note)
            ctx["notes"].append(note)
            ctx["worker_peers"].remove(peer)
            continue
        if "load_s" in reply:
            ctx["peer_info"][f"{peer}/{kind}"] = {
                "load_s": reply["load_s"],
                **reply["info"],
            }
        warm[peer] = {k: reply[k] for k in ("first_call_s", "warmup_pass_s")}
        if collect:
            with np.load(path) as data:
                checker.add(peer, dict(data))
        runners[peer] = lambda peer=peer: worker.ask(
            {"cmd": "run", "peer": peer}
        )["seconds"]

    batches = batches_of(texts, batch_size)
    for variant, kwargs in ctx["variants"].items():
        peer = f"ours:{variant}"
        common.log(tag, "warming", peer)
        loaded = models.export(kind, max_length, variant, kwargs)
        one, run = ours_pass(loaded, kind, batches)
        warm[peer], data = warm_local(one, run, batches[0], kind, collect)
        if collect:
            checker.add(peer, data)
        runners[peer] = run

    for precision in ctx["hub_precisions"]:
        for mode in ctx["hub_modes"]:
            peer = f"keras_hub:{precision}-{mode}"
            common.log(tag, "warming", peer)
            forward = models.keras_hub(kind, precision, mode == "xla")
            dataset = models.pipeline(texts, batch_size, max_length)
            one, run = hub_pass(forward, dataset)
            warm[peer], data = warm_local(one, run, None, kind, collect)
            if collect:
                checker.add(peer, data)
            runners[peer] = run

    common.log(tag, f"timing {args.rounds} interleaved rounds")
    times = common.interleaved(runners, args.rounds)
    n = len(texts)
    stats = {k: common.rate_stats(v, n) for k, v in times.items()}
    ours = [k for k in stats if k.startswith("ours:")]
    others = [k for k in stats if not k.startswith("ours:")]
    paired = {o: common.paired_ratios(times, o, others) for o in ours}
    return {
        "model": kind,
        "profile": profile,
        "max_length": max_length,
        "batch_size": batch_size,
        "sentences": n,
        "sentences_per_s": stats,
        "seconds_per_pass": times,
        "warmup": warm,
        "ours_over_peer": paired,
    }, (checker.results if checker else None)


def best_ours(result, precision):
    """The fastest ours variant of `precision` (else of any precision)."""
    stats, table = result["sentences_per_s"], result["variant_precision"]
    ours = [k for k in stats if k.startswith("ours:")]
    same = [k for k in ours if table[k] == precision] or ours
    return max(same, key=lambda k: stats[k]["median"]) if same else None


def peer_precision(peer):
    return "bf16" if ":bf16" in peer else "fp32"


def speed_rows(results):
    rows = []
    for r in results:
        for peer, stat in r["sentences_per_s"].items():
            ratio = ""
            if not peer.startswith("ours:"):
                best = best_ours(r, peer_precision(peer))
                if best:
                    stat_r = r["ours_over_peer"][best].get(peer)
                    ratio = f"{best[5:]} {common.fmt_ratio(stat_r)}"
            warm = r["warmup"][peer]
            rows.append(
                [
                    r["model"],
                    r["profile"],
                    r["batch_size"],
                    peer,
                    common.fmt_rate(stat),
                    f"{warm['first_call_s']:.3g}",
                    f"{warm['warmup_pass_s']:.3g}",
                    ratio,
                ]
            )
    return rows


def check_rows(correctness):
    keys = (
        ("token_mismatches", "{:d}"),
        ("seq_max_abs_vs_hf", "{:.2e}"),
        ("pooled_max_abs_vs_hf", "{:.2e}"),
        ("prob_max_abs_vs_hf", "{:.2e}"),
        ("argmax_agree_vs_hf", "{:.3f}"),
        ("pooled_max_abs_vs_fp32", "{:.2e}"),
        ("prob_max_abs_vs_fp32", "{:.2e}"),
        ("argmax_agree_vs_fp32", "{:.3f}"),
    )
    rows = []
    for kind, by_profile in correctness.items():
        for profile, by_peer in by_profile.items():
            for peer, result in by_peer.items():
                if result.get("reference"):
                    continue
                cells = [
                    fmt.format(result[k]) if k in result else "-"
                    for k, fmt in keys
                ]
                rows.append([kind, profile, peer, *cells])
    header = ["model", "profile", "peer", "tok!="]
    header += [
        k.replace("_max_abs", "").replace("argmax_", "") for k, _ in keys[1:]
    ]
    return header, rows


def machine():
    """common.stamp() plus lscpu's view and the load average."""
    info = common.stamp()
    try:
        out = subprocess.run(
            ["lscpu"], capture_output=True, text=True, check=False
        ).stdout
    except OSError:
        out = ""
    fields = {}
    for line in out.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in (
            "Model name",
            "CPU(s)",
            "Thread(s) per core",
            "Core(s) per socket",
            "Socket(s)",
        ):
            fields[key.strip()] = value.strip()
        elif key.strip() == "Flags":
            fields["bf16_flags"] = sorted(
                f for f in value.split() if "amx" in f or f == "avx512_bf16"
            )
    info["lscpu"] = fields
    info["loadavg_start"] = os.getloadavg()
    return info


def versions():
    out = {}
    for name in VERSIONS:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Ours variants (--ours): "
        + ", ".join(f"{k}={v}" for k, v in VARIANTS.items()),
    )
    parser.add_argument(
        "--models", default="encoder,classifier", help="encoder,classifier"
    )
    parser.add_argument(
        "--profiles",
        default="short,long128,long512",
        help="short (Rotten Tomatoes, cut at 128), long128 / long512 (BBC "
        "articles cut at 128 / 512 tokens).",
    )
    parser.add_argument("--batch-sizes", default="1,8,32")
    parser.add_argument(
        "--ours",
        default="fp32-auto,fp32-xla,fp32-noxla,bf16-noxla",
        help="Export variants (names in VARIANTS or --variant); variants "
        "the installed export_savedmodel cannot make are skipped.",
    )
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME=JSON",
        help="Define an ours variant: export_savedmodel kwargs as JSON, "
        'e.g. \'bf16-xla-b={"precision": "bfloat16", "length_buckets": '
        "[32, 128]}'. Repeatable; name it in --ours too.",
    )
    parser.add_argument(
        "--peers",
        default="hf,ort,keras_hub",
        help="Peers besides ours: hf (torch), ort (ONNX Runtime fp32), "
        "keras_hub.",
    )
    parser.add_argument(
        "--peer-precisions",
        default="fp32,bf16",
        help="Precisions of the hf and keras_hub peers (ort is fp32).",
    )
    parser.add_argument(
        "--keras-hub-modes",
        default="xla,noxla",
        help="tf.function modes of the keras_hub peer (jit_compile).",
    )
    parser.add_argument("--short-sentences", type=int, default=512)
    parser.add_argument("--long-sentences", type=int, default=128)
    parser.add_argument(
        "--max-sentences",
        type=int,
        default=0,
        help="Cap on sentences per profile (smoke runs); 0 = no cap.",
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--check-batch",
        type=int,
        default=0,
        help="Batch size whose warmup pass is compared across peers "
        "(default: the largest of --batch-sizes).",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=os.cpu_count(),
        help="Threads of every peer (TF intra/inter-op and tf.data, torch "
        "intra/inter-op, ORT intra-op). Default: os.cpu_count().",
    )
    parser.add_argument(
        "--torch-python",
        default=common.default_torch_python(),
        help="Interpreter of the torch/ORT worker ($KBI_TORCH_PYTHON, else "
        "this one).",
    )
    parser.add_argument(
        "--out",
        default="serving_e2e.jsonl",
        help="JSON-lines file (relative: under benchmarks/results); '' to "
        "not save.",
    )
    common.add_runner_argument(parser)
    parser.add_argument(
        "--onednn-frozen-weights",
        action="store_true",
        help=f"Set {common.FROZEN_WEIGHTS_ENV}=1 in this process (ours and "
        "keras-hub) before TensorFlow loads, as the serving notes of a "
        "bfloat16 export advise for the server (bench_onednn_weights.py "
        "measures it).",
    )
    parser.add_argument(
        "--worker",
        action="store_true",
        help="Internal: run as the torch/ORT peer process (JSON lines on "
        "stdin).",
    )
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        worker_main(args.threads)
        return
    if args.onednn_frozen_weights:
        os.environ[common.FROZEN_WEIGHTS_ENV] = "1"
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")  # keras-hub's retracing warnings
    threads = args.threads
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    kinds = [k for k in args.models.split(",") if k]
    profiles = [p for p in args.profiles.split(",") if p]
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    peers = set(args.peers.split(","))
    precisions = [p for p in args.peer_precisions.split(",") if p]
    notes = []
    variants = usable_variants(args, notes)
    worker_peers = []
    if "hf" in peers:
        worker_peers += [f"hf:{p}" for p in precisions]
    if "ort" in peers:
        worker_peers.append("ort:fp32")
    if REFERENCE not in worker_peers:
        note = "no hf:fp32 peer: correctness is not checked against HF"
        notes.append(note)
        common.log(note)
    start = time.perf_counter()
    stamp = machine()
    with tempfile.TemporaryDirectory(prefix="serving_e2e_") as root:
        worker = (
            WorkerClient(args.torch_python, threads) if worker_peers else None
        )
        texts = {p: load_texts(p, args) for p in profiles}
        files = {}
        for profile, rows in texts.items():
            files[profile] = os.path.join(root, f"texts_{profile}.json")
            with open(files[profile], "w", encoding="utf-8") as f:
                json.dump(rows, f)
        ctx = {
            "args": args,
            "models": Models(root, threads, args.runner),
            "texts": texts,
            "text_files": files,
            "root": root,
            "worker": worker,
            "worker_peers": worker_peers,
            "variants": variants,
            "hub_precisions": precisions if "keras_hub" in peers else [],
            "hub_modes": [m for m in args.keras_hub_modes.split(",") if m],
            "check_batch": args.check_batch or max(batch_sizes),
            "notes": notes,
            "peer_info": {},
        }
        results, correctness = [], {}
        try:
            for kind in kinds:
                for profile in profiles:
                    for batch_size in batch_sizes:
                        result, check = measure(ctx, kind, profile, batch_size)
                        result["variant_precision"] = {
                            f"ours:{k}": precision_of(v)
                            for k, v in variants.items()
                        }
                        results.append(result)
                        if check is not None:
                            correctness.setdefault(kind, {})[profile] = check
        finally:
            worker_threads = worker.hello if worker else {}
            if worker is not None:
                worker.close()
    tf_threads = tf.config.threading
    line = {
        "benchmark": "serving_e2e",
        **stamp,
        "loadavg_end": os.getloadavg(),
        "versions": versions(),
        "threads": {
            "requested": threads,
            "tf_intra_op": tf_threads.get_intra_op_parallelism_threads(),
            "tf_inter_op": tf_threads.get_inter_op_parallelism_threads(),
            "tf_data_private_threadpool": threads,
            **{
                k: v for k, v in worker_threads.items() if "thread" in k.lower()
            },
        },
        "settings": {
            "models": kinds,
            "profiles": {p: PROFILES[p] for p in profiles},
            "sentences": {p: len(t) for p, t in texts.items()},
            "batch_sizes": batch_sizes,
            "rounds": args.rounds,
            "check_batch": ctx["check_batch"],
            "ours": variants,
            "peers": sorted(peers),
            "peer_precisions": precisions,
            "keras_hub_modes": ctx["hub_modes"],
            "seed": SEED,
            "runner": args.runner,
            common.FROZEN_WEIGHTS_ENV: os.environ.get(
                common.FROZEN_WEIGHTS_ENV
            ),
        },
        "notes": notes,
        "load_s": {**ctx["models"].load_s, **ctx["peer_info"]},
        "results": results,
        "correctness": correctness,
        "wall_s": time.perf_counter() - start,
    }
    header = [
        "model",
        "profile",
        "batch",
        "peer",
        "sent/s median [min-max]",
        "1st call s",
        "warmup s",
        "best ours/peer",
    ]
    check_header, check_table = check_rows(correctness)
    table = common.format_table(header, speed_rows(results))
    if check_table:
        table += "\n\n" + common.format_table(check_header, check_table)
    if notes:
        table += "\n\n" + "\n".join(f"note: {n}" for n in notes)
    common.emit(line, table, save=args.out or None)


if __name__ == "__main__":
    main()
