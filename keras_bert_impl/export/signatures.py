"""The serving signatures of an exported model, defined once.

Three signatures, all with the batch as the first axis of every input and
output:

* `serving_default`: raw text in (`tf.string`, `(batch_size,)`; a second
  input for pair tasks), predictions out (see `tasks.py` for each kind of
  model). The tokenizer runs here, in the graph, ahead of the model.
* `from_ids`: int32 `token_ids`, `segment_ids`, `padding_mask`
  `(batch_size, seq_len)` in (the model's own input names), the model's
  numbers out. Rows longer than the model's length are cut.
* `tokenize`: the same text inputs as `serving_default`, the packed int32
  inputs out, as `from_ids` takes them.

The numeric model runs one of two ways per request, chosen in the graph
by its size (`xla_max_tokens`, see `runtime.resolve_serving_jit_compile`):
an inner `tf.function(jit_compile=True)` that XLA compiles, never seeing a
string op (tensorflow-text ops have no XLA kernels); or the same function
on TensorFlow's own kernels. XLA compiles once per input shape, so a
request bound for it is padded to a power of two rows and its sequence to
a bucket length (`length_buckets`), and the outputs are cut back: a server
sees a bounded number of shapes, each compiled once. A request bound for
TensorFlow's kernels is not padded at all (they take any shape; padding
would only add work), and inside the model the encoder skips the padding
of a batch's shorter rows (`models.encoder.packed_tokens`): its
token-wise layers run on the real tokens only. Sequence outputs are zeros
at padding positions on that path; on the XLA path they hold whatever the
model computes there. Either way a client reads them at real positions
only (the `padding_mask` output).

Each weight is stored once: the module tracks the model's variables (and
nothing else of the Keras model), and the functions capture those same
variables.
"""

import tensorflow as tf

from keras_bert_impl.export.tasks import ServingTask
from keras_bert_impl.export.tasks import ids_input_specs
from keras_bert_impl.export.tasks import model_outputs
from keras_bert_impl.models.encoder import INPUT_NAMES
from keras_bert_impl.models.encoder import packed_tokens
from keras_bert_impl.runtime import XLA_ALL_REQUESTS
from keras_bert_impl.runtime import serving_compiles

DEFAULT = "serving_default"
FROM_IDS = "from_ids"
TOKENIZE = "tokenize"
SIGNATURE_NAMES = (DEFAULT, FROM_IDS, TOKENIZE)
MIN_LENGTH_BUCKET = 8
_MAX_BATCH_BUCKET = 1 << 16


def length_buckets(max_length: int, step: int | None = None) -> list[int]:
    """Sequence lengths the compiled model sees, then `max_length`.

    Powers of two from `MIN_LENGTH_BUCKET` by default (few compilations,
    up to half of each batch padding); with `step`, every multiple of
    `step` (less padding, `max_length / step` compilations).

    Example:
    >>> length_buckets(100)
    [8, 16, 32, 64, 100]
    >>> length_buckets(100, step=16)
    [16, 32, 48, 64, 80, 96, 100]
    """
    if step is not None and not 1 <= int(step) <= max_length:
        raise ValueError(
            f"`length_step` must be between 1 and max_length={max_length}. "
            f"Received: length_step={step!r}"
        )
    if step is None:
        sizes, size = [], MIN_LENGTH_BUCKET
        while size < max_length:
            sizes.append(size)
            size *= 2
    else:
        sizes = list(range(int(step), max_length, int(step)))
    return [*sizes, max_length]


def _bucket(n, sizes):
    """The smallest of `sizes` (sorted) that is >= n; n itself past them."""
    table = tf.constant(sizes, tf.int32)
    i = tf.searchsorted(table, tf.reshape(n, [1]), side="left")[0]
    fits = i < len(sizes)
    return tf.where(fits, tf.gather(table, tf.minimum(i, len(sizes) - 1)), n)


def validated(inputs, specs):
    """`inputs` after in-graph checks of their rank and batch sizes.

    A signature's traced shapes are not enforced when a client sends a
    tensor of another rank (TF Serving passes the request's tensors to the
    graph as they are): a scalar string reaching tensorflow-text's
    tokenizer crashes the whole server process, and a `[1, 2]` batch would
    silently be read as one text. Every signature therefore checks first,
    with ops that read the runtime shape, and fails the request with an
    `InvalidArgumentError` naming the input instead. Inputs must also agree
    on the batch size (one second text per first text).

    Args:
        inputs: dict name -> tensor, as the signature received them.
        specs: dict name -> `tf.TensorSpec` of the signature.

    Returns:
        dict name -> tensor, the same values with their static shapes set.
    """
    checks = []
    for name, spec in specs.items():
        rank = spec.shape.rank
        what = "batch of strings" if spec.dtype == tf.string else "batch"
        checks.append(
            tf.debugging.assert_equal(
                tf.size(tf.shape(inputs[name])),
                rank,
                message=f"`{name}` must be a {rank}-D {what} of shape "
                f"{_shape_text(spec)}; received another rank",
            )
        )
    names = list(specs)
    with tf.control_dependencies(checks):
        for other in names[1:]:
            checks.append(
                tf.debugging.assert_equal(
                    tf.shape(inputs[names[0]])[0],
                    tf.shape(inputs[other])[0],
                    message=f"`{names[0]}` and `{other}` need the same batch "
                    "size (one row of each per example)",
                )
            )
    with tf.control_dependencies(checks):
        return {
            name: tf.ensure_shape(tf.identity(inputs[name]), spec.shape)
            for name, spec in specs.items()
        }


def _shape_text(spec):
    """`[batch]`, `[batch, choices]`, `[batch, seq]` or
    `[batch, choices, seq]`."""
    if spec.dtype == tf.string:
        axes = ["batch", "choices"][: spec.shape.rank]
    else:
        axes = ["batch", "choices", "seq"]
        if spec.shape.rank == 2:
            axes = ["batch", "seq"]
    return "[" + ", ".join(axes) + "]"


class ServingModule(tf.Module):
    """A model, its tokenizer and its signatures, ready for saving.

    Args:
        model: the Keras model (a `BertEncoder` or a task model).
        tokenizer: the `BertTokenizer` whose ids the model was trained on.
        task: `ServingTask`, what the model takes and returns.
        max_length: int. Longest packed input, special tokens included.
        xla_max_tokens: int. The largest request, in padded rows x padded
            length, that runs XLA-compiled: 0 for none (TensorFlow's
            kernels, unpadded), `runtime.XLA_ALL_REQUESTS` for all.
        lengths: optional list of int. The padded sequence lengths of
            XLA-bound requests (sorted, the last `max_length`); defaults to
            `length_buckets(max_length)`.
    """

    def __init__(
        self,
        model,
        tokenizer,
        task: ServingTask,
        max_length: int,
        xla_max_tokens: int = XLA_ALL_REQUESTS,
        lengths=None,
    ):
        super().__init__(name="keras_bert_impl_serving")
        self.tokenizer = tokenizer
        # The only reference to the weights: the variables themselves,
        # keyed by their Keras path (stable checkpoint keys). `weights`, not
        # `variables`: dropout seed states are not needed to serve.
        weights = {}
        for i, variable in enumerate(model.weights):
            key = variable.path if variable.path not in weights else str(i)
            weights[key] = variable.value
        self.model_variables = weights
        self._task = task
        self._max_length = int(max_length)
        self._length_buckets = list(lengths or length_buckets(self._max_length))
        self._batch_buckets = [1 << i for i in range(17)]

        def numeric(inputs):
            return model_outputs(task, model(inputs, training=False))

        def numeric_unpadded(inputs):
            # The encoder's blocks on the real tokens alone (`packed_tokens`):
            # a batch of mixed lengths is not padded inside the model either.
            with packed_tokens():
                return numeric(inputs)

        self._xla_max_tokens = int(xla_max_tokens)
        # Not attributes of the module: tracking the Keras model would save
        # its variables a second time.
        self._numeric_xla = _untracked(tf.function(numeric, jit_compile=True))
        self._numeric_tf = _untracked(
            tf.function(numeric_unpadded, jit_compile=False)
        )

    # -- pieces ------------------------------------------------------------

    def run_model(self, inputs):
        """Runs the numeric model: XLA-compiled on the padded shape bucket
        for a request of at most `xla_max_tokens` padded tokens, else on
        TensorFlow's kernels as it is; outputs cut back to the request."""
        ids = inputs["token_ids"]
        batch = tf.shape(ids)[0]
        length = tf.shape(ids)[-1]

        def run(numeric, padded_batch, padded_length):
            rank = ids.shape.rank
            paddings = (
                [[0, padded_batch - batch]]
                + [[0, 0]] * (rank - 2)
                + [[0, padded_length - length]]
            )
            padded = {k: tf.pad(inputs[k], paddings) for k in INPUT_NAMES}
            outputs = numeric.value(padded)
            outputs = {k: v[:batch] for k, v in outputs.items()}
            for name in self._task.sequence_outputs:
                outputs[name] = outputs[name][:, :length]
            return outputs

        padded_batch = _bucket(batch, self._batch_buckets)
        padded_length = _bucket(length, self._length_buckets)

        def compiled():
            return run(self._numeric_xla, padded_batch, padded_length)

        def unpadded():
            # TensorFlow's kernels take any shape; only an empty batch (no
            # positions at all) gets one padding position, for the pooler.
            return run(self._numeric_tf, batch, tf.maximum(length, 1))

        if self._xla_max_tokens <= 0:
            return unpadded()
        if self._xla_max_tokens >= XLA_ALL_REQUESTS:
            return compiled()
        # A multiple-choice request has one row per choice.
        rows = padded_batch * tf.reduce_prod(tf.shape(ids)[1:-1])
        return tf.cond(
            serving_compiles(rows, padded_length, self._xla_max_tokens),
            compiled,
            unpadded,
        )

    def encode(self, texts):
        """Text inputs -> (packed int32 inputs, decoding context)."""
        return self._task.encode(self.tokenizer, texts, self._max_length)

    # -- signatures ----------------------------------------------------------

    def signatures(self) -> dict:
        """The concrete functions to save, by signature name."""
        text_specs = self._task.text_inputs

        ids_specs = ids_input_specs(self._task)

        @tf.function(input_signature=[text_specs])
        def serve_text(texts):
            inputs, context = self.encode(validated(texts, text_specs))
            outputs = self.run_model(inputs)
            return self._task.decode(outputs, inputs, context)

        @tf.function(input_signature=[ids_specs])
        def serve_ids(inputs):
            inputs = validated(inputs, ids_specs)
            inputs = {
                k: inputs[k][..., : self._max_length] for k in INPUT_NAMES
            }
            return self._task.ids_outputs(self.run_model(inputs), inputs)

        @tf.function(input_signature=[text_specs])
        def tokenize(texts):
            inputs, _ = self.encode(validated(texts, text_specs))
            return inputs

        return {
            DEFAULT: serve_text.get_concrete_function(),
            FROM_IDS: serve_ids.get_concrete_function(),
            TOKENIZE: tokenize.get_concrete_function(),
        }


class _untracked:
    """Holds a value out of sight of `tf.Module` attribute tracking."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value
