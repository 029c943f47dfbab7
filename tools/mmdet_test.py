#!/usr/bin/env python
"""Run mmdet's own ``tools/test.py`` (shipped in the mmdet wheel) unchanged.

    python tools/mmdet_test.py CONFIG CHECKPOINT [mmdet test.py options...]
    python tools/mmdet_test.py --nproc N CONFIG CHECKPOINT [options...]   # dist_test.sh

Prints the metrics of the config's test evaluator; for the VOC configs that
is ``pascal_voc/mAP`` on VOC2007 test. Options after CHECKPOINT go to
``mmdet/.mim/tools/test.py`` as is (``--work-dir``, ``--out``, ``--show-dir``,
``--cfg-options k=v ...``). With ``--nproc N`` (N > 1) mmdet's
``dist_test.sh CONFIG CHECKPOINT N ...`` runs instead.
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
            run_python_tool('test.py', ['--help'])
        return 0 if argv else 2
    if nproc > 1:
        if len(argv) < 2 or argv[0].startswith('-') or argv[1].startswith('-'):
            sys.exit('mmdet_test.py --nproc: put CONFIG CHECKPOINT first, '
                     'before the other options (dist_test.sh takes them '
                     'positionally)')
        return run_dist_tool('dist_test.sh',
                             [argv[0], argv[1], str(nproc), *argv[2:]])
    run_python_tool('test.py', argv)
    return 0


if __name__ == '__main__':
    sys.exit(main())
