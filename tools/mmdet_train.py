#!/usr/bin/env python
"""Run mmdet's own ``tools/train.py`` (shipped in the mmdet wheel) unchanged.

    python tools/mmdet_train.py CONFIG [mmdet train.py options...]
    python tools/mmdet_train.py --nproc N CONFIG [options...]   # dist_train.sh

Everything after CONFIG goes to ``mmdet/.mim/tools/train.py`` as is
(``--work-dir``, ``--resume``, ``--amp``, ``--auto-scale-lr``,
``--cfg-options k=v ...``). With ``--nproc N`` (N > 1) mmdet's
``dist_train.sh CONFIG N ...`` runs instead (``torch.distributed.launch``,
one process per GPU; NNODES, NODE_RANK, PORT, MASTER_ADDR are read from the
environment as that script does).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from smix_mmdet.mim_tools import (pop_nproc, run_dist_tool,  # noqa: E402
                                  run_python_tool)


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    nproc, argv = pop_nproc(argv)
    if not argv or argv[0] in ('-h', '--help'):
        print(__doc__)
        if argv:
            run_python_tool('train.py', ['--help'])
        return 0 if argv else 2
    if nproc > 1:
        if argv[0].startswith('-'):
            sys.exit('mmdet_train.py --nproc: put CONFIG first, before the '
                     'other options (dist_train.sh takes it positionally)')
        return run_dist_tool('dist_train.sh', [argv[0], str(nproc), *argv[1:]])
    run_python_tool('train.py', argv)
    return 0


if __name__ == '__main__':
    sys.exit(main())
