"""The runnable examples in the docstrings people read with help() (doctest), and the docs' promises."""
import doctest
import importlib
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODULES = ["smix_timm.mix", "smix_timm.saliency", "smix_timm.placement"]
MMDET_MODULES = ["smix_mmdet.timm_backbone", "smix_mmdet.pretrained_init"]


@pytest.mark.parametrize("name", MODULES + MMDET_MODULES)
def test_docstring_examples_run(name):
    if name.startswith("smix_mmdet"):
        pytest.importorskip("mmdet")
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no runnable example"
    assert result.failed == 0


def test_public_docstrings_have_args_returns_raises():
    from smix_timm import FastCollateSaliencyMix, SaliencyMix, saliency_map
    for obj in (SaliencyMix, FastCollateSaliencyMix, saliency_map):
        for section in ("Args:", "Returns:", "Raises:", ">>> "):
            assert section in obj.__doc__, f"{obj.__name__} docstring lacks {section}"


def test_no_references_outside_the_repository():
    for folder in ("smix_timm", "smix_mmdet", "tools", "configs", "docs"):
        for base, _, files in os.walk(os.path.join(ROOT, folder)):
            for name in files:
                if name.endswith((".py", ".c", ".md", ".sh")):
                    with open(os.path.join(base, name), encoding="utf-8") as f:
                        assert "../shared" not in f.read(), os.path.join(base, name)
