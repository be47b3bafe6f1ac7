"""Keras metrics the task models compile with.

`StreamingPearsonCorrelation` (regression) and `MultiLabelScore`
(multi-label F1 / precision / recall). Offline metrics on numpy
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


SCORES = ("f1", "precision", "recall")


@keras.saving.register_keras_serializable(package="keras_bert_impl")
class MultiLabelScore(keras.metrics.Metric):
    """F1, precision or recall of multi-label predictions over an epoch.

    Predictions are logits `(batch_size, num_labels)`; a label is predicted
    when its sigmoid probability exceeds `threshold`. True and false
    positives and false negatives are counted per label over every example
    seen; `average="micro"` pools the counts over the labels, `"macro"`
    averages the per-label scores (a label with nothing to count scores 0).

    Args:
        num_labels: int. Labels per example.
        score: `"f1"` (default), `"precision"` or `"recall"`.
        average: `"micro"` (default) or `"macro"`.
        threshold: float in (0, 1). Defaults to `0.5`.
        name, dtype: as for `keras.metrics.Metric` (default name
            `"<average>_<score>"`).

    Example:
    >>> m = MultiLabelScore(num_labels=3)
    >>> m.update_state([[1, 0, 1], [0, 1, 0]],
    ...                [[2.0, -1.0, -3.0], [-1.0, 3.0, 1.0]])
    >>> round(float(m.result()), 4)  # tp 2, fp 1, fn 1
    0.6667
    """

    def __init__(
        self,
        num_labels,
        score="f1",
        average="micro",
        threshold=0.5,
        name=None,
        dtype=None,
    ):
        if score not in SCORES:
            raise ValueError(
                f"`score` must be one of {SCORES}. Received: score={score!r}"
            )
        if average not in ("micro", "macro"):
            raise ValueError(
                "`average` must be 'micro' or 'macro'. Received: "
                f"average={average!r}"
            )
        if not 0 < threshold < 1:
            raise ValueError(
                "`threshold` must be in (0, 1). Received: "
                f"threshold={threshold!r}"
            )
        super().__init__(name=name or f"{average}_{score}", dtype=dtype)
        self.num_labels = int(num_labels)
        self.score = score
        self.average = average
        self.threshold = float(threshold)
        self._counts = [
            self.add_variable(
                shape=(self.num_labels,), initializer="zeros", name=n
            )
            for n in ("tp", "fp", "fn")
        ]

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.cast(y_true, "float32")
        predicted = ops.cast(
            ops.sigmoid(ops.cast(y_pred, "float32")) > self.threshold,
            "float32",
        )
        w = ops.ones_like(y_true[:, :1])
        if sample_weight is not None:
            w = ops.reshape(ops.cast(sample_weight, "float32"), (-1, 1))
        tp = ops.sum(w * predicted * y_true, axis=0)
        fp = ops.sum(w * predicted * (1 - y_true), axis=0)
        fn = ops.sum(w * (1 - predicted) * y_true, axis=0)
        for variable, value in zip(self._counts, (tp, fp, fn), strict=True):
            variable.assign_add(value)

    def result(self):
        tp, fp, fn = self._counts
        if self.average == "micro":
            tp, fp, fn = ops.sum(tp), ops.sum(fp), ops.sum(fn)
        if self.score == "precision":
            value = tp / ops.maximum(tp + fp, 1e-12)
        elif self.score == "recall":
            value = tp / ops.maximum(tp + fn, 1e-12)
        else:
            value = 2 * tp / ops.maximum(2 * tp + fp + fn, 1e-12)
        return value if self.average == "micro" else ops.mean(value)

    def reset_state(self):
        for variable in self._counts:
            variable.assign(ops.zeros_like(variable))

    def get_config(self):
        return {
            **super().get_config(),
            "num_labels": self.num_labels,
            "score": self.score,
            "average": self.average,
            "threshold": self.threshold,
        }
