#!/usr/bin/env python
"""Choose the accuracy study's regime with the baseline and CutMix only.

    python tools/benchmarks/select_regime.py --seeds 0 1 --recipes c10-n100-e40 c10-n50-e60

Finished runs are read back, not retrained (stop and continue freely). The recipes, the rule and
the table are in smix_lab/study/regime.py.
"""
import argparse
import json
import os

from smix_lab.study import regime

BASELINE_RECIPE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                               "configs", "timm", "tiny_cpu_baseline.yaml")  # this checkout's


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipes", nargs="+", choices=list(regime.RECIPES), default=list(regime.RECIPES))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--config", default=BASELINE_RECIPE, help="the recipe's other settings")
    parser.add_argument("--data-root", default="data/regime")
    parser.add_argument("--output", default="output/regime")
    parser.add_argument("--json", default=None, help="write the runs and the table rows here")
    parser.add_argument("extra", nargs=argparse.REMAINDER, help="after --: more tools/train.py flags")
    args = parser.parse_args(argv)
    extra = [a for a in args.extra if a != "--"]
    results = regime.run(args.recipes, args.seeds, args.data_root, args.output, args.config, extra)
    rows = regime.summarise(results)
    print(regime.to_markdown(rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"runs": results, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
