"""Static check of every import in the package (module level and inside
functions): no cycle, no private name taken from another module, and the
floors import only downward (the order below, also in the README).

Reads the source with `ast`; imports nothing of the package.
"""

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent / "keras_bert_impl"
PACKAGE = "keras_bert_impl"

# The floors, lowest first: a module may import its own floor and the ones
# below, never one above. (A prefix names a package and all its modules.)
FLOORS = (
    (
        "keras_bert_impl.version",
        "keras_bert_impl.config",
        "keras_bert_impl.checks",
        "keras_bert_impl.paths",
        "keras_bert_impl.run_files",
        "keras_bert_impl.evaluation",
        "keras_bert_impl.assets",
    ),
    (
        "keras_bert_impl.runtime",
        "keras_bert_impl.health",
        "keras_bert_impl.layers",
        "keras_bert_impl.metrics",
        "keras_bert_impl.optimizers",
    ),
    ("keras_bert_impl.models",),
    ("keras_bert_impl.tokenization",),
    ("keras_bert_impl.checkpoints",),
    ("keras_bert_impl.data",),
    ("keras_bert_impl.tasks",),
    ("keras_bert_impl.training",),
    ("keras_bert_impl.export",),
    ("keras_bert_impl.quickstart",),
    ("keras_bert_impl.cli",),
    ("keras_bert_impl",),  # the lazy top level
)


def _module_name(path):
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {
    _module_name(p): p for p in sorted(ROOT.rglob("*.py")) if p.is_file()
}
PACKAGES = {_module_name(p) for p in ROOT.rglob("__init__.py") if p.is_file()}


def _target(name):
    """The package module an imported dotted name refers to, or None."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module, source=None):
    """`(imported module, imported name or None, line)` of every import."""
    if source is None:
        source = MODULES[module].read_text(encoding="utf-8")
    tree = ast.parse(source)
    is_package = module in PACKAGES
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == PACKAGE:
                    found.append((_target(alias.name), None, node.lineno))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".")
                keep = len(parts) - node.level + (1 if is_package else 0)
                base = ".".join(parts[:keep] + ([base] if base else []))
            if base.split(".")[0] != PACKAGE:
                continue
            for alias in node.names:
                full = f"{base}.{alias.name}"
                if full in MODULES:
                    found.append((full, None, node.lineno))
                else:
                    found.append((_target(base), alias.name, node.lineno))
    return found


def _edges(module):
    """Modules `module` imports, including the `__init__` of their
    packages (Python runs those first), except its own packages'."""
    own = {module.rsplit(".", i)[0] for i in range(module.count(".") + 1)}
    edges = set()
    for target, _, _ in _imports(module):
        if target is None or target == module:
            continue
        edges.add(target)
        parent = target.rpartition(".")[0]
        while parent and parent != PACKAGE:
            if parent not in own:
                edges.add(parent)
            parent = parent.rpartition(".")[0]
    return edges


def _floor(module):
    best, level = None, None
    for i, prefixes in enumerate(FLOORS):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                if best is None or len(prefix) > len(best):
                    best, level = prefix, i
    return level


def test_every_module_is_on_a_floor():
    assert [m for m in MODULES if _floor(m) is None] == []


def test_no_import_cycle():
    graph = {m: _edges(m) for m in MODULES}
    state, stack, cycles = {}, [], []

    def visit(m):
        state[m] = "open"
        stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == "open":
                cycles.append(stack[stack.index(n) :] + [n])
            elif n not in state:
                visit(n)
        stack.pop()
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m)
    assert cycles == [], "\n".join(" -> ".join(c) for c in cycles)


def test_no_private_name_from_another_module():
    bad = []
    for module in MODULES:
        for target, name, line in _imports(module):
            private = name and name.startswith("_") and not name.endswith("__")
            if private and target != module:
                bad.append(f"{module}:{line} imports {target}.{name}")
    assert bad == []


def test_imports_go_down_the_floors():
    bad = []
    for module in MODULES:
        for target in _edges(module):
            if _floor(target) > _floor(module):
                bad.append(f"{module} (floor {_floor(module)}) imports "
                           f"{target} (floor {_floor(target)})")  # fmt: skip
    assert bad == [], "\n".join(sorted(bad))


def test_the_checker_sees_what_it_must():
    # Imports inside a function are found like module-level ones, relative
    # imports are resolved, and a private name is reported.
    source = (
        "from . import batching\n"
        "def f():\n"
        "    from keras_bert_impl.data.batching import _hidden\n"
        "    import keras_bert_impl.models.task\n"
    )
    found = _imports("keras_bert_impl.data.ner", source)
    assert [(t, n) for t, n, _ in found] == [
        ("keras_bert_impl.data.batching", None),
        ("keras_bert_impl.data.batching", "_hidden"),
        ("keras_bert_impl.models.task", None),
    ]
