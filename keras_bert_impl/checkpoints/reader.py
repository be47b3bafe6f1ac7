"""`Checkpoint`: the tensors of a checkpoint on disk, read lazily.

Both formats list every tensor's name and shape up front (the safetensors
header, the TF checkpoint index) and read data only on request, so a
checkpoint is validated completely before a single array is loaded, and
optimizer slots are never read at all. No TensorFlow import.
"""

import dataclasses
from collections.abc import Callable
from pathlib import Path

import numpy as np

from keras_bert_impl.config import BertConfig


def unreadable(source, error, what="the file") -> ValueError:
    """The error for a checkpoint file that cannot be read."""
    reason = " ".join(str(error).split())[:200] or type(error).__name__
    return ValueError(
        f"Cannot read {what} of the checkpoint {source} "
        f"({type(error).__name__}: {reason}): the file is truncated or "
        "corrupt (an interrupted download or copy?). Download or save it "
        "again."
    )


@dataclasses.dataclass
class Checkpoint:
    """Names, shapes and a reader of the tensors of one checkpoint.

    Args:
        format: str. `"hf"` or `"tf1"`.
        config: `BertConfig` read from the checkpoint's JSON config.
        shapes: dict. Tensor name (as stored) -> shape tuple.
        dtypes: dict. Tensor name -> dtype name (`"float32"`, ...).
        read: callable. Tensor name -> `np.ndarray` as stored.
        source: `Path` of the file or prefix the tensors come from (used in
            error messages).
        vocab: optional `Path` of a `vocab.txt` found beside it.
        metadata: dict. The checkpoint's JSON config as stored (Hugging
            Face `config.json`: `architectures`, `id2label`,
            `problem_type`, ...).
    """

    format: str
    config: BertConfig
    shapes: dict[str, tuple[int, ...]]
    dtypes: dict[str, str]
    read: Callable[[str], np.ndarray]
    source: Path
    vocab: Path | None = None
    metadata: dict = dataclasses.field(default_factory=dict)

    def read_float32(self, name: str) -> np.ndarray:
        """Reads a tensor as float32 (fp16/bf16/fp64 are cast; see io).

        Raises:
            ValueError: the tensor cannot be read (a truncated or corrupt
                file), naming the file and the tensor.
        """
        try:
            array = np.asarray(self.read(name))
        except Exception as e:  # safetensors, TensorFlow: any read failure
            raise unreadable(self.source, e, f"tensor {name!r}") from None
        if array.dtype != np.float32:
            kind = np.dtype(array.dtype).kind
            # ml_dtypes' bfloat16 reports kind "V"; all floats cast exactly
            # (fp64 rounds to nearest).
            if kind not in ("f", "V"):
                raise ValueError(
                    f"Tensor {name!r} in {self.source} has dtype "
                    f"{array.dtype}; BERT weights must be floating point."
                )
            array = array.astype(np.float32)
        return array
