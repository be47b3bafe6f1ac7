"""Runs every `>>>` example in the package's docstrings (keras-hub style)."""

import doctest
import importlib
import pkgutil

import keras
import numpy as np
import pytest

import keras_bert_impl

# Modules whose import pulls optional or heavy parts are still included:
# every public docstring example must stay tiny and deterministic.
MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(
        keras_bert_impl.__path__, prefix="keras_bert_impl."
    )
    if not m.name.endswith("__main__")
)


@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples(module_name):
    module = importlib.import_module(module_name)
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    )
    globs = {
        "np": np,
        "keras": keras,
        "kbi": keras_bert_impl,
        **{name: getattr(keras_bert_impl, name) for name in ("BertConfig",)},
    }
    for name in ("build_encoder", "BertEncoder", "BertPretrainer"):
        globs[name] = getattr(keras_bert_impl, name)
    for test in finder.find(module, module_name, globs=dict(globs)):
        test.globs.update({k: v for k, v in module.__dict__.items()})
        test.globs.update(globs)
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} doctest(s) failed"
