"""`LabelMap`: label names ↔ class ids, built from the training data."""

import json
import os


class LabelMap:
    """An ordered, immutable list of label names and their ids.

    Built from the training labels with `from_labels` (sorted, so the same
    training set always gives the same ids, whatever its order), stored with
    the model as `label_names` and read back with `from_json`/`load`. An
    eval or predict label that is not in the map raises a `ValueError`
    naming the label and where it came from; it is never given a new id.

    Args:
        names: sequence of str. Label names; index = class id. Must be
            unique and non-empty.

    Example:
    >>> labels = LabelMap.from_labels(["pos", "neg", "pos"])
    >>> labels.names
    ('neg', 'pos')
    >>> labels.index("pos"), labels.name(0)
    (1, 'neg')
    >>> LabelMap.from_json(labels.to_json()) == labels
    True
    """

    def __init__(self, names):
        if isinstance(names, str):
            raise ValueError(
                "`names` must be a sequence of label names, not one string. "
                f"Received: names={names!r}"
            )
        try:
            names = tuple(str(n) for n in names)
        except TypeError:
            raise ValueError(
                "`names` must be a sequence of label names. Received: "
                f"names={names!r}"
            ) from None
        if not names:
            raise ValueError(
                "`names` must hold at least one label. Received: names=()"
            )
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(
                f"Label names must be unique. Received duplicates: {duplicates}"
            )
        self.names = names
        self._index = {n: i for i, n in enumerate(names)}

    @classmethod
    def from_labels(cls, labels):
        """The sorted distinct labels (converted to `str`) of `labels`."""
        return cls(sorted({str(label) for label in labels}))

    def __len__(self):
        return len(self.names)

    def __iter__(self):
        return iter(self.names)

    def __contains__(self, label):
        return str(label) in self._index

    def __eq__(self, other):
        return isinstance(other, LabelMap) and other.names == self.names

    def __hash__(self):
        return hash(self.names)

    def __repr__(self):
        return f"LabelMap({list(self.names)!r})"

    def index(self, label, where=None):
        """The id of `label`.

        Args:
            label: the label (compared as `str`).
            where: optional str, e.g. `"dev.tsv:12"`, named in the error.

        Raises:
            ValueError: `label` is not in the map.
        """
        try:
            return self._index[str(label)]
        except KeyError:
            place = f" ({where})" if where else ""
            raise ValueError(
                f"Unknown label {str(label)!r}{place}: the label map has "
                f"{list(self.names)[:20]}. Labels at evaluation or prediction "
                "time must appear in the training data; fix the file or "
                "build the label map from data that holds this label."
            ) from None

    def name(self, index):
        """The label name of class id `index`."""
        index = int(index)
        if not 0 <= index < len(self.names):
            raise ValueError(
                f"`index` must be in [0, {len(self.names)}). Received: "
                f"index={index}"
            )
        return self.names[index]

    def to_json(self):
        """A JSON string: `{"labels": [names...]}`."""
        return json.dumps({"labels": list(self.names)}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text):
        """Reads `to_json` output (or a bare JSON list of names)."""
        data = json.loads(text)
        if isinstance(data, dict):
            if "labels" not in data:
                raise ValueError(
                    "A label map JSON object needs a 'labels' list. Received "
                    f"keys: {sorted(data)}"
                )
            data = data["labels"]
        if not isinstance(data, list):
            raise ValueError(
                "A label map JSON must be a list of names or "
                f'{{"labels": [...]}}. Received: {type(data).__name__}'
            )
        return cls(data)

    def save(self, path):
        """Writes `to_json()` to `path`."""
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.to_json() + "\n")

    @classmethod
    def load(cls, path):
        """Reads a file written by `save`."""
        with open(path, encoding="utf-8") as f:
            return cls.from_json(f.read())
