"""Run the tools mmdet ships inside its wheel (``mmdet/.mim/tools/``).

The mmdet 3.x wheel carries ``tools/train.py``, ``tools/test.py``,
``tools/dist_train.sh`` and ``tools/dist_test.sh`` under ``mmdet/.mim/``
(the layout ``mim`` uses). These helpers find them in the installed package
and run them unchanged: the Python tools in this interpreter through
``runpy`` (as ``python tools/train.py ...`` would), the dist scripts through
``bash`` with this interpreter first on ``PATH`` (they call ``python -m
torch.distributed.launch``).
"""
from __future__ import annotations

import os
import runpy
import subprocess
import sys
from pathlib import Path
from typing import List, Sequence, Tuple

__all__ = ["mim_tool", "pop_nproc", "run_python_tool", "run_dist_tool",
           "tool_main"]


def mim_tool(name: str) -> Path:
    """Path of ``mmdet/.mim/tools/<name>`` in the installed mmdet.

    Raises:
        ImportError: mmdet is not installed.
        FileNotFoundError: the wheel has no such tool.
    """
    try:
        import mmdet
    except ImportError as err:
        raise ImportError(
            'mmdet is not installed in this Python; run `bash '
            'tools/install.sh` (or pip install -e ".[det]")') from err
    path = Path(mmdet.__file__).resolve().parent / ".mim" / "tools" / name
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} does not exist: this mmdet ({mmdet.__version__}) was not "
            "installed from a wheel that ships .mim/tools; reinstall mmdet "
            "3.3.0 from PyPI")
    return path


def pop_nproc(argv: Sequence[str]) -> Tuple[int, List[str]]:
    """Remove ``--nproc N`` / ``--nproc=N`` from ``argv``; default 1."""
    rest: List[str] = []
    nproc = 1
    it = iter(argv)
    for arg in it:
        if arg == "--nproc" or arg.startswith("--nproc="):
            value = arg.split("=", 1)[1] if "=" in arg else next(it, "")
            if not value.isdigit() or int(value) < 1:
                raise SystemExit(
                    f"--nproc needs a positive integer, got {value!r}")
            nproc = int(value)
        else:
            rest.append(arg)
    return nproc, rest


def run_python_tool(name: str, argv: Sequence[str]) -> None:
    """Run ``mmdet/.mim/tools/<name>`` as ``__main__`` with ``argv``.

    ``sys.argv`` and ``sys.path[0]`` are set as the interpreter would for
    ``python <tool> argv...``; SystemExit from the tool propagates.
    """
    path = mim_tool(name)
    tool_dir = str(path.parent)
    old_argv = sys.argv[:]
    sys.argv = [str(path), *argv]
    sys.path.insert(0, tool_dir)
    try:
        runpy.run_path(str(path), run_name="__main__")
    finally:
        sys.argv = old_argv
        if tool_dir in sys.path:
            sys.path.remove(tool_dir)


def run_dist_tool(name: str, args: Sequence[str]) -> int:
    """Run ``mmdet/.mim/tools/<name>`` (a dist_*.sh script) with ``bash``.

    This interpreter's directory goes first on ``PATH`` so the script's
    ``python`` is the one that has mmdet and smix installed, and the
    repository root goes on ``PYTHONPATH`` so configs can import
    ``smix_mmdet`` from a checkout. Returns the exit status.
    """
    path = mim_tool(name)
    env = dict(os.environ)
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    repo = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (repo, env.get("PYTHONPATH")) if p)
    cmd: List[str] = ["bash", str(path), *args]
    print("+ " + " ".join(cmd), flush=True)
    return subprocess.call(cmd, env=env)


def tool_main(tool: str, dist_script: str, positional: Sequence[str],
              doc: str, argv=None) -> int:
    """Command line of ``tools/mmdet_{train,test}.py``: run mmdet's ``tool``,
    or with ``--nproc N`` (N > 1) its ``dist_script``, which takes the
    ``positional`` arguments (e.g. CONFIG CHECKPOINT) first, then N."""
    argv = list(sys.argv[1:] if argv is None else argv)
    nproc, argv = pop_nproc(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(doc)
        if argv:
            run_python_tool(tool, ["--help"])
        return 0 if argv else 2
    if nproc > 1:
        head = argv[:len(positional)]
        if len(head) < len(positional) or any(a.startswith("-") for a in head):
            sys.exit(f'--nproc: put {" ".join(positional)} first, before the '
                     f'other options ({dist_script} takes them positionally)')
        return run_dist_tool(dist_script,
                             [*head, str(nproc), *argv[len(positional):]])
    run_python_tool(tool, argv)
    return 0
