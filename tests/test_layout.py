"""The tests mirror the library, and the library stands alone.

Every module of the smix_timm library (not its training side, smix_timm/train, nor the entry-point alias
smix_timm/timm_train.py) has tests/test_<name>.py (the name without a leading underscore), and none of
those modules imports the training side or the lab tooling (smix_lab): read from the source with ast, so
an import inside a function, a relative one or an import_module("...") string counts as well."""
import ast
import os
import pkgutil

import pytest

import smix_timm

TESTS = os.path.dirname(os.path.abspath(__file__))
LIBRARY = os.path.dirname(os.path.abspath(smix_timm.__file__))
NOT_LIBRARY = {"smix_timm.train", "smix_timm.timm_train"}
FORBIDDEN = ("smix_timm.train", "smix_lab")


def library_modules():
    """{dotted name: source file} of smix_timm's Python modules and packages, found on disk (nothing imported)."""
    found = {"smix_timm": os.path.join(LIBRARY, "__init__.py")}

    def walk(folder, prefix):
        for info in pkgutil.iter_modules([folder]):
            name = f"{prefix}.{info.name}"
            if name in NOT_LIBRARY:
                continue
            if info.ispkg:
                found[name] = os.path.join(folder, info.name, "__init__.py")
                walk(os.path.join(folder, info.name), name)
            elif os.path.isfile(os.path.join(folder, info.name + ".py")):  # not the compiled extension
                found[name] = os.path.join(folder, info.name + ".py")

    walk(LIBRARY, "smix_timm")
    return found


def expected_test_file(name):
    return "test_" + name.rsplit(".", 1)[-1].lstrip("_") + ".py"


def imported_names(path, module):
    """(line, absolute module name) of every import in the source, relative ones resolved against ``module``."""
    package = module if os.path.basename(path) == "__init__.py" else module.rsplit(".", 1)[0]
    tree = ast.parse(open(path, encoding="utf-8").read(), filename=path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module
            yield node.lineno, stem
            for alias in node.names:  # from . import train: the name may be a module
                yield node.lineno, f"{stem}.{alias.name}"
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str) \
                and getattr(node.func, "attr", getattr(node.func, "id", None)) in ("import_module", "__import__"):
            yield node.lineno, node.args[0].value


def forbidden(name):
    return any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN)


def test_the_library_modules_are_found():
    modules = library_modules()
    assert {"smix_timm.mix", "smix_timm._inputs", "smix_timm.saliency", "smix_timm.saliency.native"} <= set(modules)
    assert not [name for name in modules if name.startswith("smix_timm.train") or name == "smix_timm.timm_train"]


@pytest.mark.parametrize("module", sorted(set(library_modules()) - {"smix_timm"}))
def test_every_library_module_has_its_test_file(module):
    path = os.path.join(TESTS, expected_test_file(module))
    assert os.path.isfile(path), f"{module} has no tests/{os.path.basename(path)}"


@pytest.mark.parametrize("module", sorted(library_modules()))
def test_no_library_module_imports_the_training_side_or_the_lab(module):
    path = library_modules()[module]
    found = [f"{path}:{line}: {name}" for line, name in imported_names(path, module) if forbidden(name)]
    assert not found, "the library imports the training side or smix_lab:\n" + "\n".join(found)


def test_the_import_check_sees_each_way_of_importing(tmp_path):
    source = tmp_path / "mod.py"
    source.write_text("import smix_lab.study\nfrom ..train import cli\nfrom .. import train\n"
                      "def f():\n    import importlib\n    return importlib.import_module('smix_lab.demo')\n"
                      "from .placement import train_boxes\n")
    names = [name for _, name in imported_names(str(source), "smix_timm.saliency.mod")]
    assert [name for name in names if forbidden(name)] == [
        "smix_lab.study", "smix_timm.train", "smix_timm.train.cli", "smix_timm.train", "smix_lab.demo"]
    assert "smix_timm.saliency.placement.train_boxes" in names  # a name merely starting with "train" is fine


def test_every_test_folder_is_a_package():
    """tests/ and its sub-folders are packages (tests.lab.test_cam, ...): test files of the same name in two
    folders do not clash, and the shared helpers are imported as tests.images, tests._analysis_testlib, ..."""
    for folder, dirs, files in os.walk(TESTS):
        dirs[:] = [d for d in dirs if not d.startswith((".", "__"))]
        if any(name.startswith("test_") and name.endswith(".py") for name in files):
            assert "__init__.py" in files, f"{folder} holds tests but no __init__.py"
