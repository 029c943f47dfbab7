#!/usr/bin/env python
"""The accuracy study in one command: five mixing methods x seeds, transfer (VOC mAP), FGSM, CAM.

    python tools/benchmarks/run_study.py --plan configs/study/study.yaml --out results/study

Stop it at any time and run the same command again: finished runs are read back. Writes
study.json, study.md (tables) and curves.png to --out. Stages: smix_lab/study/plan.py.

Check one figure of the tables by training that run again into another folder:

    python tools/benchmarks/run_study.py --only cutmix:0 --out results/study-check
"""
import argparse
import os
import sys

from smix_lab.study import plan as study


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plan", default="configs/study/study.yaml", help="the frozen study plan (YAML)")
    parser.add_argument("--out", default="results/study", help="run folders, records and the report")
    parser.add_argument("--data-root", default="data/study", help="where the built-in data is generated")
    parser.add_argument("--only", metavar="METHOD:SEED", help="train just this run of the plan (into --out, "
                        "which must not be the study's folder) and compare it with the study's figure")
    parser.add_argument("--study", default="results/study", help="with --only: the study to compare with")
    args = parser.parse_args(argv)
    try:
        plan = study.load_plan(args.plan)
        if args.only:
            method, _, seed = args.only.partition(":")
            if not seed.isdigit():
                raise study.PlanError(f"--only takes METHOD:SEED, e.g. cutmix:0; got {args.only!r}")
            if os.path.abspath(args.out) == os.path.abspath(args.study):
                raise study.PlanError(f"--only trains the run again: give it another --out than {args.study}")
            plan = study.only_run(plan, method, int(seed))
    except study.PlanError as err:
        sys.exit(f"run_study: error: {err}")
    results = study.Study(plan, args.out, args.data_root).run()
    if args.only:
        print(study.compare_with_study(results, args.study))
    else:
        print(study.report(results, args.out))


if __name__ == "__main__":
    main()
