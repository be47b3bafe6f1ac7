"""The documented REST request, fed through the signature as TF Serving
would, gives the documented response shape; the sample config parses.

The request bodies (`curl ... -d '<json>'`) and responses (```json blocks)
are read from the "Serving" section of README.md and from
savedmodels/README.md, so the docs cannot drift from the export.
"""

import json
import re

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_text  # noqa: F401

from tests.export.conftest import LABELS
from tests.export.conftest import REPO


def _serving_section(name):
    text = (REPO / name).read_text()
    if name == "README.md":
        match = re.search(r"^## Serving\n(.*?)(?=^## |\Z)", text, re.M | re.S)
        assert match, "README.md has no '## Serving' section"
        text = match.group(1)
    return text


def _documented(name):
    """`(request bodies, responses)` of a doc, parsed as JSON."""
    text = _serving_section(name)
    bodies = [json.loads(b) for b in re.findall(r"-d '(\{.*?\})'", text)]
    responses = [
        json.loads(b) for b in re.findall(r"```json\n(.*?)```", text, re.S)
    ]
    return bodies, responses


def _plain(value):
    value = np.asarray(value).tolist()
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def rest_predict(signature, body):
    """TF Serving's REST `:predict`: row ("instances") or columnar
    ("inputs") JSON in, "predictions" or "outputs" JSON out."""
    specs = signature.structured_input_signature[1]
    if "instances" in body:
        rows = body["instances"]
        inputs = {k: [row[k] for row in rows] for k in specs}
    else:
        inputs = {k: body["inputs"][k] for k in specs}
    outputs = signature(**{k: tf.constant(v) for k, v in inputs.items()})
    outputs = {k: v.numpy() for k, v in outputs.items()}
    if "instances" in body:
        return {
            "predictions": [
                {k: _plain(v[i]) for k, v in outputs.items()}
                for i in range(len(rows))
            ]
        }
    return {"outputs": {k: _plain(v) for k, v in outputs.items()}}


def _shape(value):
    """JSON structure without the values: types, keys, list lengths."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return ["list", len(value), *sorted({repr(_shape(v)) for v in value})]
    return type(value).__name__


@pytest.mark.parametrize("doc", ["README.md", "savedmodels/README.md"])
def test_documented_rest_request_gives_documented_shape(classifier_export, doc):
    _, path = classifier_export
    signature = tf.saved_model.load(path).signatures["serving_default"]
    bodies, responses = _documented(doc)
    assert bodies and len(bodies) == len(responses), (bodies, responses)
    for body, documented in zip(bodies, responses, strict=True):
        served = rest_predict(signature, body)
        assert _shape(served) == _shape(documented)
        json.dumps(served)  # what the server would send is plain JSON
        for row in served.get("predictions", []):
            assert row["label"] in LABELS
            assert row["label_names"] == list(LABELS)
            np.testing.assert_allclose(sum(row["probabilities"]), 1, 1e-5)
        for row in documented.get("predictions", []):
            assert row["label"] in row["label_names"]


def test_sample_models_config_parses():
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2

    config = text_format.Parse(
        (REPO / "savedmodels" / "models.config").read_text(),
        model_server_config_pb2.ModelServerConfig(),
    )
    models = config.model_config_list.config
    assert len(models) >= 1
    for model in models:
        assert model.base_path == f"/models/{model.name}"
        assert model.model_platform == "tensorflow"
