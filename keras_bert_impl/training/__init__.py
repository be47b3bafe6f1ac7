"""Training: `pretrain`, `finetune` / `run_finetuning`, callbacks, strategies.

The optimizers and the schedule live in `keras_bert_impl.optimizers`.
"""
