"""The Hugging Face torch peer, driven by the TensorFlow benchmarks.

Runs under a torch interpreter (the `bench` extra: torch 2.13.0 CPU +
transformers), reads one JSON command per line on stdin and answers one
JSON line on stdout:

    {"cmd": "hello", "threads": 2}            -> versions
    {"cmd": "setup", "task": "pretrain" | "inference", "config": {...},
     "batch_size": 32, "seq_len": 128, "num_predictions": 20,
     "precision": "fp32" | "bf16", "warmup": 2}  -> parameter count
    {"cmd": "run", "steps": 5}                  -> {"seconds": ...}
    {"cmd": "quit"}

`pretrain` is stock `BertForPreTraining` (MLM logits at every position,
labels -100 off the masked ones, as the HF data collator makes them) with
`torch.optim.AdamW`; bf16 uses `torch.autocast`. `inference` is
`BertModel` under `torch.inference_mode()`; bf16 casts the model to
bfloat16. No TensorFlow import here.
"""

import os
import sys
import time

# Replies go to the real stdout; anything a library prints goes to stderr
# (also while torch imports).
_OUT = sys.stdout
sys.stdout = sys.stderr

import common  # noqa: E402  (this folder: no TensorFlow import)
import torch  # noqa: E402
import transformers  # noqa: E402

_HF_NAMES = {
    "vocabulary_size": "vocab_size",
    "hidden_dim": "hidden_size",
    "num_layers": "num_hidden_layers",
    "num_heads": "num_attention_heads",
    "intermediate_dim": "intermediate_size",
    "hidden_activation": "hidden_act",
    "dropout": "hidden_dropout_prob",
    "attention_dropout": "attention_probs_dropout_prob",
    "max_sequence_length": "max_position_embeddings",
    "num_segments": "type_vocab_size",
    "initializer_range": "initializer_range",
    "layer_norm_epsilon": "layer_norm_eps",
}
_HF_ACT = {"gelu": "gelu", "gelu_approximate": "gelu_new"}


def hf_config(config):
    kwargs = {_HF_NAMES[k]: v for k, v in config.items() if k in _HF_NAMES}
    kwargs["hidden_act"] = _HF_ACT.get(
        kwargs.get("hidden_act", "gelu"), kwargs.get("hidden_act")
    )
    return transformers.BertConfig(**kwargs)


def make_batch(spec, vocab, generator):
    b, s, p = spec["batch_size"], spec["seq_len"], spec["num_predictions"]
    ids = torch.randint(5, vocab, (b, s), generator=generator)
    segments = torch.zeros((b, s), dtype=torch.long)
    segments[:, s // 2 :] = 1
    mask = torch.ones((b, s), dtype=torch.long)
    labels = torch.full((b, s), -100, dtype=torch.long)
    positions = torch.stack(
        [torch.randperm(s - 1, generator=generator)[:p] + 1 for _ in range(b)]
    )
    labels.scatter_(1, positions, ids.gather(1, positions))
    nsp = torch.randint(0, 2, (b,), generator=generator)
    return ids, segments, mask, labels, nsp


class Peer:
    def setup(self, spec):
        torch.manual_seed(0)
        generator = torch.Generator().manual_seed(0)
        config = hf_config(spec["config"])
        self.spec = spec
        ids, segments, mask, labels, nsp = make_batch(
            spec, config.vocab_size, generator
        )
        bf16 = spec.get("precision", "fp32") == "bf16"
        if spec["task"] == "pretrain":
            model = transformers.BertForPreTraining(config)
            model.train()
            opt = torch.optim.AdamW(model.parameters(), lr=1e-4)

            def step():
                with torch.autocast("cpu", torch.bfloat16, enabled=bf16):
                    out = model(
                        input_ids=ids,
                        token_type_ids=segments,
                        attention_mask=mask,
                        labels=labels,
                        next_sentence_label=nsp,
                    )
                out.loss.backward()
                opt.step()
                opt.zero_grad(set_to_none=True)
                return out.loss

        elif spec["task"] == "inference":
            model = transformers.BertModel(config)
            model.eval()
            if bf16:
                model = model.to(torch.bfloat16)

            def step():
                with torch.inference_mode():
                    return model(
                        input_ids=ids,
                        token_type_ids=segments,
                        attention_mask=mask,
                    ).last_hidden_state

        else:
            raise ValueError(f"unknown task {spec['task']!r}")
        self.model, self.step = model, step
        for _ in range(spec.get("warmup", 2)):
            self.step()
        return {
            "params": sum(p.numel() for p in model.parameters()),
            "attn_implementation": getattr(
                model.config, "_attn_implementation", None
            ),
        }

    def run(self, steps):
        start = time.perf_counter()
        for _ in range(steps):
            out = self.step()
        float(out.float().sum())  # the result is materialized
        return {"seconds": time.perf_counter() - start}


def main():
    peer = Peer()

    def handle(cmd, msg):
        if cmd == "hello":
            if msg.get("threads"):
                torch.set_num_threads(int(msg["threads"]))
            return {
                "torch": torch.__version__,
                "transformers": transformers.__version__,
                "threads": torch.get_num_threads(),
                "pid": os.getpid(),
            }
        if cmd == "setup":
            return peer.setup(msg)
        if cmd == "run":
            return peer.run(msg["steps"])
        return {"error": f"unknown command {cmd!r}"}

    sys.stdout = _OUT  # serve_pipe keeps the pipe for replies itself
    common.serve_pipe(handle)


if __name__ == "__main__":
    main()
