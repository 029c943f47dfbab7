"""Run mmdet's own ``tools/test.py`` (shipped in the mmdet wheel) unchanged.

The same program as tools/mmdet/mmdet_test.py of a checkout, for installs without one.

    python -m smix_mmdet.mmdet_test CONFIG CHECKPOINT [mmdet test.py options...]
    python -m smix_mmdet.mmdet_test --nproc N CONFIG CHECKPOINT [options...]   # dist_test.sh

Prints the metrics of the config's test evaluator; for the VOC configs that
is ``pascal_voc/mAP`` on VOC2007 test. Options after CHECKPOINT go to
``mmdet/.mim/tools/test.py`` as is (``--work-dir``, ``--out``, ``--show-dir``,
``--cfg-options k=v ...``). With ``--nproc N`` (N > 1) mmdet's
``dist_test.sh CONFIG CHECKPOINT N ...`` runs instead.
"""
import sys

from smix_mmdet.mim_tools import tool_main  # noqa: E402


def main(argv=None) -> int:
    return tool_main("test.py", "dist_test.sh", ("CONFIG", "CHECKPOINT"), __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
