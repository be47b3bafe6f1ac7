"""`keras-bert-impl pretrain`: masked-LM + NSP pretraining with model.fit."""

import argparse

from keras_bert_impl.cli import add_jit_options


def register(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "pretrain",
        help="pretrain BERT (masked LM + NSP) on text files",
        description=(
            "Pretrain BERT from scratch with model.fit: dynamic masking, "
            "AdamW with warmup and linear decay, XLA, TensorBoard scalars in "
            "LOGDIR/train and LOGDIR/validation, checkpoints in "
            "LOGDIR/checkpoints and the encoder in LOGDIR/encoder. Run the "
            "same command again to resume an interrupted run."
        ),
        epilog=(
            "Small models on a CPU (tiny/mini, minutes to an hour; measured "
            "in the README's Pretraining section): --learning-rate 1e-3 "
            "--max-seq-length 128 --short-seq-length 64 --short-seq-steps "
            "<about 80% of --steps>, and no dropout for a short run (a JSON "
            '--config with "dropout": 0 and "attention_dropout": 0). '
            "Check validation/next_sentence_accuracy before fine-tuning: an "
            "encoder whose NSP stayed near 0.5 transfers worse than random "
            "weights."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add = parser.add_argument
    add(
        "--config",
        default="tiny",
        help="model: a preset (tiny, mini, small, medium, base, large; "
        "its vocabulary size is taken from --vocab) or a JSON config",
    )
    add("--vocab", required=True, help="vocab.txt of the tokenizer")
    add(
        "--train",
        action="append",
        required=True,
        metavar="GLOB",
        help="training files, folders or globs (quote them); repeatable",
    )
    add(
        "--validation",
        action="append",
        metavar="GLOB",
        help="held-out files for validation scalars; repeatable",
    )
    add("--logdir", required=True, help="run folder (created)")
    add("--steps", type=int, default=1000, help="total training steps")
    add(
        "--steps-per-epoch",
        type=int,
        default=100,
        help="steps between logs, validation and checkpoints; divides --steps",
    )
    add("--batch-size", type=int, default=32, help="global batch size")
    add(
        "--max-seq-length",
        type=int,
        default=128,
        help="tokens per example, special tokens included; at most the "
        "model's max positions",
    )
    add(
        "--max-predictions",
        type=int,
        default=None,
        help="default 15%% of length",
    )
    add(
        "--short-seq-length",
        type=int,
        default=None,
        help="the paper's schedule: the first --short-seq-steps steps at "
        "this length (cheaper), the rest at --max-seq-length",
    )
    add(
        "--short-seq-steps",
        type=int,
        default=0,
        help="steps at --short-seq-length; a multiple of --steps-per-epoch",
    )
    add(
        "--learning-rate",
        type=float,
        default=1e-4,
        help="peak rate (for tiny and mini from scratch, 1e-3 learns much "
        "faster: see the README's Pretraining)",
    )
    add(
        "--warmup-steps",
        type=int,
        default=None,
        help="default 10%% of the updates, at most 10000",
    )
    add(
        "--weight-decay",
        type=float,
        default=0.01,
        help="decoupled weight decay (not on LayerNorm or bias)",
    )
    add(
        "--optimizer",
        choices=("adamw", "lamb"),
        default="adamw",
        help="AdamW, or LAMB for large batches",
    )
    add(
        "--gradient-accumulation-steps",
        type=int,
        default=1,
        help="batches per weight update: their gradients are averaged "
        "(Keras' accumulation), so K batches of B update like one of K*B",
    )
    add(
        "--dtype",
        choices=("float32", "mixed_bfloat16", "mixed_float16"),
        default="float32",
        help="compute precision (LayerNorm and softmax stay float32)",
    )
    add(
        "--strategy",
        choices=("default", "one_device", "mirrored", "multi_worker", "tpu"),
        default="default",
        help="tf.distribute strategy; multi_worker reads TF_CONFIG (only "
        "worker 0 writes LOGDIR), tpu uses --tpu",
    )
    add(
        "--tpu",
        default="",
        metavar="ADDRESS",
        help="for --strategy tpu: the TPU's name or grpc://host:8470 "
        "address, 'local' on a Cloud TPU VM; empty: auto-detect "
        "(TPU_NAME, Cloud TPU metadata)",
    )
    add_jit_options(add)
    add(
        "--validation-steps",
        type=int,
        default=10,
        help="validation batches per epoch",
    )
    add("--seed", type=int, default=0, help="seed of data order and masks")
    add(
        "--no-lower-case",
        dest="lower_case",
        action="store_false",
        help="cased tokenizer",
    )
    add(
        "--encoding-errors",
        choices=("strict", "replace"),
        default="strict",
        help="on a non-UTF-8 byte in the corpus: stop before training, "
        "naming file and line, or drop it",
    )
    add("--cache-dir", default=None, help="cache of the tokenized corpus")
    add(
        "--tensorboard-update-freq",
        default="epoch",
        help="'epoch' or a number of steps",
    )
    add(
        "--quiet",
        action="store_true",
        help="one line per epoch instead of the progress bar",
    )
    parser.set_defaults(func=run)
    return parser


def to_config(args):
    """The `PretrainingConfig` of parsed arguments (the only flag mapping)."""
    from keras_bert_impl.training.pretrain import PretrainingConfig

    freq = args.tensorboard_update_freq
    return PretrainingConfig(
        vocab=args.vocab,
        train=list(args.train),
        validation=list(args.validation) if args.validation else None,
        logdir=args.logdir,
        model=args.config,
        steps=args.steps,
        steps_per_epoch=args.steps_per_epoch,
        batch_size=args.batch_size,
        max_seq_length=args.max_seq_length,
        max_predictions_per_seq=args.max_predictions,
        short_seq_length=args.short_seq_length,
        short_seq_steps=args.short_seq_steps,
        learning_rate=args.learning_rate,
        warmup_steps=args.warmup_steps,
        weight_decay=args.weight_decay,
        optimizer=args.optimizer,
        gradient_accumulation_steps=args.gradient_accumulation_steps,
        dtype=args.dtype,
        jit_compile=args.jit_compile,
        strategy=args.strategy,
        tpu_address=args.tpu,
        validation_steps=args.validation_steps,
        seed=args.seed,
        lower_case=args.lower_case,
        encoding_errors=args.encoding_errors,
        cache_dir=args.cache_dir,
        tensorboard_update_freq=int(freq) if freq.isdigit() else freq,
    )


def run(args) -> int:
    import os

    from keras_bert_impl import run_files
    from keras_bert_impl.training.pretrain import pretrain

    config = to_config(args)
    history = pretrain(config, verbose=2 if args.quiet else "auto")
    logs = {k: v[-1] for k, v in history.history.items()}
    summary = ", ".join(f"{k} {v:.4f}" for k, v in sorted(logs.items()))
    print(f"done: {summary or 'nothing left to train'}")
    print(f"encoder: {os.path.join(config.logdir, run_files.ENCODER_DIR)}")
    print(f"tensorboard --logdir {config.logdir}")
    return 0
