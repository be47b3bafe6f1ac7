"""AdamW with epsilon added to the bias-corrected second moment."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_bert_impl")
class AdamW(keras.optimizers.AdamW):
    """`keras.optimizers.AdamW` with PyTorch's placement of epsilon.

    Keras' Adam folds both bias corrections into the step size and adds
    `epsilon` to the *uncorrected* `sqrt(v)`:
    `lr · sqrt(1 - β2^t) / (1 - β1^t) · m / (sqrt(v) + ε)`. Kingma & Ba's
    Algorithm 1, `torch.optim.AdamW` and Hugging Face add it to the
    corrected one: `lr / (1 - β1^t) · m / (sqrt(v / (1 - β2^t)) + ε)`.
    Early in a run `1 - β2^t` is small (0.001 at the first update), so
    Keras' form acts like an epsilon up to `1 / sqrt(1 - β2^t)` (31.6×)
    larger and damps every update whose gradient is not much larger than
    `ε`. After global-norm clipping at 1.0 most gradients of a pretrained
    BERT are of that size: fine-tuning all-MiniLM-L6-v2 on Rotten Tomatoes
    (dropout off, same head, same batches), Keras' form was already 0.022
    off the PyTorch run's loss within 40 updates; with this form the two
    agree to 1.4e-5 (`benchmarks/finetune_trajectory_parity.py`). Sparse
    gradients (an embedding lookup's `tf.IndexedSlices`) are made dense
    before clipping, so global-norm clipping uses the true norm, as
    `torch.nn.utils.clip_grad_norm_` does. Everything else (decoupled
    weight decay, clipping, accumulation, `amsgrad`) is Keras'.

    Args: as `keras.optimizers.AdamW`.

    Example:
    >>> opt = AdamW(learning_rate=0.1, weight_decay=0.0, epsilon=1e-6)
    >>> w = keras.Variable([1.0])
    >>> opt.apply([keras.ops.convert_to_tensor([1e-6])], [w])
    >>> round(float(w.numpy()[0]), 4)  # 0.1 · g / (|g| + ε): half a step
    0.95
    """

    def apply(self, grads, trainable_variables=None):
        # Sparse gradients (`tf.IndexedSlices` of an embedding lookup) made
        # dense first: their rows repeat for every repeated id, and
        # `clip_by_global_norm` would sum the squares of the repeated rows
        # instead of the square of their sum, i.e. clip by a wrong norm.
        # The update itself is dense anyway.
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            grads = [
                tf.convert_to_tensor(g)
                if isinstance(g, tf.IndexedSlices)
                else g
                for g in grads
            ]
        return super().apply(grads, trainable_variables)

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        gradient = ops.cast(gradient, dtype)
        step = ops.cast(self.iterations + 1, dtype)
        beta_1_power = ops.power(ops.cast(self.beta_1, dtype), step)
        beta_2_power = ops.power(ops.cast(self.beta_2, dtype), step)
        index = self._get_variable_index(variable)
        m = self._momentums[index]
        v = self._velocities[index]
        self.assign_add(
            m, ops.multiply(ops.subtract(gradient, m), 1 - self.beta_1)
        )
        self.assign_add(
            v,
            ops.multiply(
                ops.subtract(ops.square(gradient), v), 1 - self.beta_2
            ),
        )
        if self.amsgrad:
            v_hat = self._velocity_hats[index]
            self.assign(v_hat, ops.maximum(v_hat, v))
            v = v_hat
        # lr / (1 - β1^t) · m / (sqrt(v) / sqrt(1 - β2^t) + ε), written as
        # Keras does but with ε scaled by sqrt(1 - β2^t): the same value.
        correction = ops.sqrt(1 - beta_2_power)
        alpha = lr * correction / (1 - beta_1_power)
        self.assign_sub(
            variable,
            ops.divide(
                ops.multiply(m, alpha),
                ops.add(ops.sqrt(v), self.epsilon * correction),
            ),
        )
