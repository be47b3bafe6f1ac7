"""Which ops an exported SavedModel needs, read from `saved_model.pb`.

A TF Serving binary runs a SavedModel only if it registers every op of the
graph, functions included. `saved_model_ops` lists them; the test suite
checks each against TensorFlow's registry and tensorflow-text's, and that
no Python-dependent op (`PyFunc`, `EagerPyFunc`) is among them.
"""

import collections
import os

# The tensorflow-text ops an export uses (an uncased tokenizer; a cased one
# without accent stripping skips NormalizeUTF8). TF Serving links
# tensorflow-text's op library at its own pinned version. Truncation uses
# core ops, not `TFText>RoundRobinTrim` (missing from TF Serving images that
# embed tensorflow-text 2.12).
TENSORFLOW_TEXT_OPS = (
    "FastWordpieceTokenizeWithOffsets",
    "NormalizeUTF8",
)
PYTHON_OPS = ("PyFunc", "PyFuncStateless", "EagerPyFunc")


def _read(path: str):
    from tensorflow.core.protobuf import saved_model_pb2

    with open(os.path.join(path, "saved_model.pb"), "rb") as f:
        return saved_model_pb2.SavedModel.FromString(f.read())


def saved_model_ops(path: str) -> dict[str, int]:
    """Counts of every op type in a SavedModel, all functions included.

    Calls of graph functions (a node whose op is a function of the library)
    are not ops and are left out.

    Args:
        path: str. The SavedModel directory.

    Returns:
        dict op type -> number of nodes.
    """
    counts = collections.Counter()
    for meta_graph in _read(path).meta_graphs:
        graph = meta_graph.graph_def
        functions = {f.signature.name for f in graph.library.function}
        nodes = list(graph.node)
        for function in graph.library.function:
            nodes.extend(function.node_def)
        counts.update(n.op for n in nodes if n.op not in functions)
    return dict(counts)


def _ops_of(library, name, seen):
    """Op types run by function `name` and the functions it calls."""
    ops = set()
    if name in seen:
        return ops
    seen.add(name)
    for node in library[name].node_def:
        called = [node.op] if node.op in library else []
        for attr in node.attr.values():
            if attr.func.name:
                called.append(attr.func.name)
            called.extend(f.name for f in attr.list.func)
        if node.op not in library:
            ops.add(node.op)
        for callee in called:
            if callee in library:
                ops |= _ops_of(library, callee, seen)
    return ops


def xla_functions(path: str) -> dict[str, set[str]]:
    """The functions marked for XLA, with every op they run (transitively).

    Returns:
        dict function name -> set of op types run inside it.
    """
    result = {}
    for meta_graph in _read(path).meta_graphs:
        library = {
            f.signature.name: f for f in meta_graph.graph_def.library.function
        }
        for name, function in library.items():
            if function.attr["_XlaMustCompile"].b:
                result[name] = _ops_of(library, name, set())
    return result


def grappler_ops(concrete) -> tuple[dict[str, int], dict[str, int]]:
    """What Grappler makes of a graph on this CPU: op counts and fusions.

    Runs Grappler with the session defaults (TF Serving's; functions
    inlined, as at load) on `concrete`'s graph, every node placed on the
    CPU as the placer does before Grappler runs (the remapper fuses only
    nodes it knows are on a CPU). A fused op is named with what it
    absorbed, e.g. `"_FusedMatMul+BiasAdd+GeluExact"`.

    Args:
        concrete: a `tf.function`'s concrete function (e.g. a loaded
            SavedModel's signature).

    Returns:
        (op type -> count, fused op -> count) of the optimized graph.
    """
    import tensorflow as tf
    from tensorflow.core.protobuf import config_pb2
    from tensorflow.core.protobuf import meta_graph_pb2
    from tensorflow.python.grappler import cluster as grappler_cluster
    from tensorflow.python.grappler import tf_optimizer

    graph = concrete.graph
    with graph.as_default():
        meta = tf.compat.v1.train.export_meta_graph(
            graph_def=graph.as_graph_def(), graph=graph
        )
    device = "/job:localhost/replica:0/task:0/device:CPU:0"
    for node in meta.graph_def.node:
        node.device = device
    for function in meta.graph_def.library.function:
        for node in function.node_def:
            node.device = device
    fetch = meta_graph_pb2.CollectionDef()
    for tensor in concrete.outputs:
        fetch.node_list.value.append(tensor.name)
    meta.collection_def["train_op"].CopyFrom(fetch)
    config = config_pb2.ConfigProto()
    config.graph_options.rewrite_options.min_graph_nodes = -1  # any size
    optimized = tf_optimizer.OptimizeGraph(
        config, meta, cluster=grappler_cluster.Cluster()
    )
    nodes = list(optimized.node)
    for function in optimized.library.function:
        nodes.extend(function.node_def)
    counts = collections.Counter(n.op for n in nodes)
    fused = collections.Counter(
        "+".join([n.op] + [f.decode() for f in n.attr["fused_ops"].list.s])
        for n in nodes
        if n.op.startswith("_")
    )
    return dict(counts), dict(fused)
