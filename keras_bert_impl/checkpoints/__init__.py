"""Checkpoint import/export: Hugging Face safetensors and original TF1 BERT.

`load_checkpoint` and `save_checkpoint` (in `io.py`) are the public entry
points; `hf.py` and `tf1.py` hold each format's names, and `layout.py` the
canonical names shared by both.
"""

from keras_bert_impl.checkpoints.io import checkpoint_has_heads
from keras_bert_impl.checkpoints.io import load_checkpoint
from keras_bert_impl.checkpoints.io import save_checkpoint
