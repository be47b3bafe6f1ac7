"""`keras-bert-impl vocab`: learn a WordPiece `vocab.txt` from text files."""

import argparse


def register(subparsers):
    parser = subparsers.add_parser(
        "vocab",
        help="learn a WordPiece vocab.txt from text files",
        description=(
            "Learn a WordPiece vocabulary (tensorflow-text's learner) from "
            "UTF-8 text files, one example per line, normalized and split "
            "exactly as BertTokenizer does. [PAD] [UNK] [CLS] [SEP] [MASK] "
            "come first ([PAD] = id 0)."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--input",
        action="append",
        required=True,
        metavar="GLOB",
        help="input file or glob (quote it); repeat for more",
    )
    parser.add_argument(
        "--vocab-size",
        type=int,
        default=30000,
        help="target size, special tokens included",
    )
    parser.add_argument(
        "--output",
        required=True,
        help="where to write vocab.txt (missing folders are created)",
    )
    parser.add_argument(
        "--no-lower-case",
        dest="lower_case",
        action="store_false",
        help="keep case and accents (cased vocabulary)",
    )
    parser.add_argument(
        "--errors",
        choices=("strict", "replace"),
        default="strict",
        help="on a non-UTF-8 byte: stop naming file and line, or drop it",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)
    return parser


def run(args) -> int:
    from keras_bert_impl.tokenization.vocab_learning import build_vocab

    vocab = build_vocab(
        args.input,
        vocab_size=args.vocab_size,
        lower_case=args.lower_case,
        output=args.output,
        errors=args.errors,
        verbose=not args.quiet,
    )
    print(f"wrote {len(vocab)} tokens to {args.output}")
    return 0
