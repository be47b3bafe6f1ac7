"""Keras metrics the task models compile with.

`StreamingPearsonCorrelation` (regression). Offline metrics on numpy
predictions (accuracy, F1, entity scores, SQuAD) are in
`keras_bert_impl.evaluation`.
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_bert_impl")
class StreamingPearsonCorrelation(keras.metrics.Metric):
    """Pearson's r over every example seen (not a mean of batch values).

    Accumulates the count and the sums of `x`, `y`, `x²`, `y²` and `xy`,
    so the result over an epoch equals Pearson's r of all its predictions
    (STS-B's metric), whatever the batching.

    Example:
    >>> m = StreamingPearsonCorrelation()
    >>> m.update_state([1.0, 2.0], [[1.5], [2.0]])
    >>> m.update_state([3.0], [[3.5]])
    >>> round(float(m.result()), 4)  # numpy.corrcoef gives 0.9608
    0.9608
    """

    def __init__(self, name="pearson", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self._sums = [
            self.add_variable(shape=(), initializer="zeros", name=n)
            for n in ("n", "x", "y", "xx", "yy", "xy")
        ]

    def update_state(self, y_true, y_pred, sample_weight=None):
        x = ops.reshape(ops.cast(y_true, "float32"), (-1,))
        y = ops.reshape(ops.cast(y_pred, "float32"), (-1,))
        w = ops.ones_like(x)
        if sample_weight is not None:
            w = ops.reshape(ops.cast(sample_weight, "float32"), (-1,))
        values = (w, w * x, w * y, w * x * x, w * y * y, w * x * y)
        for variable, value in zip(self._sums, values, strict=True):
            variable.assign_add(ops.sum(value))

    def result(self):
        n, sx, sy, sxx, syy, sxy = self._sums
        n = ops.maximum(n, 1.0)
        cov = sxy / n - (sx / n) * (sy / n)
        var_x = ops.maximum(sxx / n - ops.square(sx / n), 0.0)
        var_y = ops.maximum(syy / n - ops.square(sy / n), 0.0)
        return cov / ops.maximum(ops.sqrt(var_x * var_y), 1e-12)

    def reset_state(self):
        for variable in self._sums:
            variable.assign(0.0)
