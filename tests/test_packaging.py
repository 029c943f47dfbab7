"""What the wheel ships works without a checkout: built with pip into a folder, used from another one.

The installed copy is put first on ``sys.path`` (PYTHONPATH), ahead of the editable install of the
checkout, and every command runs from an empty folder, so nothing can be found through the checkout.
"""
import ast
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHIPPED = ("smix_timm", "smix_mmdet", "smix_lab")


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    target = tmp_path_factory.mktemp("site")
    build = tmp_path_factory.mktemp("build")
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                           "--no-cache-dir", "--target", str(target), REPO],
                          capture_output=True, text=True, cwd=str(build))
    assert proc.returncode == 0, proc.stderr[-3000:]
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    env = dict(os.environ, PYTHONPATH=str(target))

    def run(*args, check=True):
        result = subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=str(elsewhere), env=env)
        if check:
            assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
        return result
    return target, run


def _modules(root: str):
    for package in SHIPPED:
        for folder, _, files in os.walk(os.path.join(root, package)):
            for name in sorted(files):
                if name.endswith(".py") and name != "__main__.py":
                    rel = os.path.relpath(os.path.join(folder, name), root)[:-3].replace(os.sep, ".")
                    yield rel[:-len(".__init__")] if rel.endswith(".__init__") else rel


def test_every_shipped_module_imports_from_the_installed_copy_without_warnings(installed):
    target, run = installed
    modules = list(_modules(str(target)))
    assert {"smix_timm.mix", "smix_timm.train.trainer", "smix_mmdet.timm_backbone", "smix_lab.study.plan"} \
        <= set(modules)
    code = ("import importlib, sys\n"
            f"for name in {modules!r}:\n"
            "    module = importlib.import_module(name)\n"
            f"    assert module.__file__.startswith({str(target)!r}), (name, module.__file__)\n")
    run("-W", "error", "-c", "import smix_timm, smix_mmdet")
    run("-c", code)


@pytest.mark.parametrize("argv, expect", [
    (["-m", "smix_timm.train", "--help"], "python -m smix_timm.train"),
    (["-m", "smix_lab.data.make_cls_data", "--help"], "--out"),
    (["-m", "smix_lab.analysis.fidelity_report", "--help"], "--data"),
])
def test_entry_points_start_without_a_checkout(installed, argv, expect):
    _, run = installed
    assert expect in run(*argv).stdout


def test_timm_launcher_entry_point_starts(installed):
    _, run = installed
    result = run("-m", "smix_timm.timm_train", check=False)
    assert result.returncode == 2 and "smix_timm.timm_train" in result.stdout + result.stderr


def _checkout_paths(path: str):
    """String constants that name a checkout folder by path, and climbs of three folders above __file__."""
    tree = ast.parse(open(path).read())
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            if node.value.split("/")[0] in ("tools", "configs") and "/" in node.value and "\n" not in node.value:
                found.append(f"{path}:{node.lineno}: {node.value!r}")
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "join":
            for arg in node.args:
                if isinstance(arg, ast.Constant) and arg.value in ("tools", "configs"):
                    found.append(f"{path}:{node.lineno}: os.path.join(..., {arg.value!r})")
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "dirname":
            depth, inner = 1, node.args[0] if node.args else None
            while isinstance(inner, ast.Call) and getattr(inner.func, "attr", "") == "dirname":
                depth, inner = depth + 1, inner.args[0] if inner.args else None
            if depth >= 3 and "__file__" in ast.dump(node):
                found.append(f"{path}:{node.lineno}: climbs {depth} folders above __file__")
    return found


def test_no_shipped_module_reads_the_checkout_by_path():
    found = []
    for package in SHIPPED:
        for folder, _, files in os.walk(os.path.join(REPO, package)):
            found += [hit for name in files if name.endswith(".py")
                      for hit in _checkout_paths(os.path.join(folder, name))]
    assert not found, "\n".join(found)
