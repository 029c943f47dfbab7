"""Run mmdet's own ``tools/train.py`` (shipped in the mmdet wheel) unchanged.

The same program as tools/mmdet/mmdet_train.py of a checkout, for installs without one.

    python -m smix_mmdet.mmdet_train CONFIG [mmdet train.py options...]
    python -m smix_mmdet.mmdet_train --nproc N CONFIG [options...]   # dist_train.sh

Everything after CONFIG goes to ``mmdet/.mim/tools/train.py`` as is
(``--work-dir``, ``--resume``, ``--amp``, ``--auto-scale-lr``,
``--cfg-options k=v ...``). With ``--nproc N`` (N > 1) mmdet's
``dist_train.sh CONFIG N ...`` runs instead (``torch.distributed.launch``,
one process per GPU; NNODES, NODE_RANK, PORT, MASTER_ADDR are read from the
environment as that script does).
"""
import sys

from smix_mmdet.mim_tools import tool_main  # noqa: E402


def main(argv=None) -> int:
    return tool_main("train.py", "dist_train.sh", ("CONFIG", ), __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
