"""`keras-bert-impl convert`: Hugging Face <-> original TF1 checkpoints."""

import argparse
import os


def register(subparsers):
    parser = subparsers.add_parser(
        "convert",
        help="convert a checkpoint between Hugging Face and TF1 formats",
        description=(
            "Read a BERT checkpoint (a Hugging Face folder with config.json "
            "+ model.safetensors, or an original Google TF1 checkpoint with "
            "bert_config.json + bert_model.ckpt; the format is detected) and "
            "write it in the chosen format. The masked-LM and next-sentence "
            "heads are converted too when the input has them. A vocab.txt "
            "beside the input is copied. Weights are copied bit for bit."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--input", required=True, help="checkpoint folder, file or prefix"
    )
    parser.add_argument(
        "--output", required=True, help="folder to write (must not exist)"
    )
    parser.add_argument(
        "--format",
        required=True,
        choices=("hf", "tf1"),
        help="output format: hf (config.json + model.safetensors) or tf1 "
        "(bert_config.json + bert_model.ckpt)",
    )
    parser.add_argument(
        "--encoder-only",
        action="store_true",
        help="drop the pretraining heads even if the input has them",
    )
    parser.add_argument(
        "--vocab",
        help="vocab.txt to copy beside the output; if not given, the "
        "vocab.txt beside the input, if any",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the output folder if it exists and is not empty",
    )
    parser.set_defaults(func=run)
    return parser


def run(args) -> int:
    from keras_bert_impl.checkpoints import io

    checkpoint = io.open_checkpoint(args.input)  # no TensorFlow for HF yet
    vocab = args.vocab or checkpoint.vocab
    if vocab is not None and not os.path.isfile(vocab):
        raise FileNotFoundError(f"No vocabulary file at {vocab}.")
    with_heads = not args.encoder_only and io.checkpoint_has_heads(args.input)
    model, config = io.load_checkpoint(args.input, with_heads=with_heads)
    folder = io.save_checkpoint(
        model,
        args.output,
        format=args.format,
        vocab=vocab,
        overwrite=args.overwrite,
    )
    kind = "encoder + pretraining heads" if with_heads else "encoder"
    print(
        f"Converted {checkpoint.format} -> {args.format} ({kind}; "
        f"{config.num_layers} layers, hidden {config.hidden_dim}, vocab "
        f"{config.vocabulary_size}{', vocab.txt copied' if vocab else ''}): "
        f"{folder}"
    )
    return 0
