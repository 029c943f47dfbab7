#!/usr/bin/env python
"""The accuracy study in one command: five mixing methods x seeds, transfer (VOC mAP), FGSM, CAM.

    python tools/benchmarks/run_study.py --plan configs/study/study.yaml --out results/study

Stop it at any time and run the same command again: finished runs are read back. Writes
study.json, study.md (tables) and curves.png to --out. Stages: smix_timm/bench/study.py.
"""
import argparse
import sys

from smix_timm.bench import study


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plan", default="configs/study/study.yaml", help="the frozen study plan (YAML)")
    parser.add_argument("--out", default="results/study", help="run folders, records and the report")
    parser.add_argument("--data-root", default="data/study", help="where the built-in data is generated")
    args = parser.parse_args(argv)
    try:
        plan = study.load_plan(args.plan)
    except study.PlanError as err:
        sys.exit(f"run_study: error: {err}")
    results = study.Study(plan, args.out, args.data_root).run()
    print(study.report(results, args.out))


if __name__ == "__main__":
    main()
