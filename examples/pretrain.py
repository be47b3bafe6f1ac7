"""Pretrain BERT with plain Keras: a script to copy and change.

    python examples/pretrain.py --vocab vocab.txt --train 'corpus/*.txt'

The same steps `keras-bert-impl pretrain` takes, written out: tokenizer,
`tf.data` pipeline with dynamic masking, encoder + pretraining heads,
BERT's optimizer (AdamW, warmup + linear decay, clipping), `model.fit`
with XLA, TensorBoard. Watch it with `tensorboard --logdir runs/example`.
"""

import argparse

import keras

import keras_bert_impl as kbi
from keras_bert_impl.optimizers import create_optimizer
from keras_bert_impl.training.callbacks import TrainingTensorBoard
from keras_bert_impl.training.pretrain import PretrainingModel


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--vocab", required=True, help="vocab.txt of the tokenizer"
    )
    parser.add_argument(
        "--train",
        required=True,
        help="file or glob (quote it): one sentence per line and a blank "
        'line between documents, or .jsonl with a "text" field',
    )
    parser.add_argument(
        "--logdir",
        default="runs/example",
        help="TensorBoard logs, backups and the encoder",
    )
    parser.add_argument(
        "--steps",
        type=int,
        default=1000,
        help="training steps, a multiple of 100 (one epoch = 100 steps)",
    )
    parser.add_argument(
        "--batch-size", type=int, default=32, help="examples per step"
    )
    parser.add_argument(
        "--max-seq-length",
        type=int,
        default=128,
        help="tokens per example, special tokens included",
    )
    args = parser.parse_args()

    keras.utils.set_random_seed(0)
    tokenizer = kbi.BertTokenizer(args.vocab)
    dataset = kbi.pretraining_dataset(
        [args.train],
        tokenizer,
        max_seq_length=args.max_seq_length,
        batch_size=args.batch_size,
        seed=0,
    )  # endless (x, y, sample_weight) batches, new masks every pass

    config = kbi.BertConfig.preset(
        "mini", vocabulary_size=tokenizer.vocabulary_size
    )
    # PretrainingModel is BertPretrainer with a train step that also runs
    # under tf.distribute strategies; kbi.BertPretrainer works the same way
    # on one device.
    model = PretrainingModel(kbi.build_encoder(config))
    model.compile(  # losses, accuracies and jit_compile=True by default
        optimizer=create_optimizer(
            1e-4, total_steps=args.steps, warmup_steps=args.steps // 10
        )
    )
    steps_per_epoch = 100
    model.fit(
        dataset,
        epochs=args.steps // steps_per_epoch,
        steps_per_epoch=steps_per_epoch,
        callbacks=[
            TrainingTensorBoard(args.logdir, args.batch_size),
            keras.callbacks.BackupAndRestore(f"{args.logdir}/backup"),
        ],
    )
    kbi.save_checkpoint(
        model.encoder, f"{args.logdir}/encoder", vocab=args.vocab,
        overwrite=True,
    )  # fmt: skip


if __name__ == "__main__":
    main()
