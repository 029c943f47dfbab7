"""Show which backbone tensors of an mmdet config load from a checkpoint.

    python tools/mmdet/check_backbone.py CONFIG [CHECKPOINT] [--no-ema] [--problems-only]
                                   [--cfg-options k=v ...]

Builds the config's backbone, reads CHECKPOINT (default: the config's
model.backbone.init_cfg.checkpoint) as the ``TimmPretrained`` initializer
does, and prints one line per tensor: ``ok``, ``MISSING`` (stays random),
``SHAPE`` (shape differs), ``UNUSED`` (checkpoint only), ``outside``/``head``
(not part of the backbone). Loads nothing. Exit status 0 when every backbone
tensor loads, 1 when coverage is incomplete, 2 when the checkpoint or config
cannot be read.
"""
import argparse
import sys


def main(argv=None) -> int:
    from mmengine.config import DictAction

    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 2)[2])
    parser.add_argument("config")
    parser.add_argument("checkpoint", nargs="?", default=None)
    ema = parser.add_mutually_exclusive_group()
    ema.add_argument("--no-ema", dest="use_ema", action="store_false",
                     default=None, help="take state_dict, not state_dict_ema")
    ema.add_argument("--ema", dest="use_ema", action="store_true",
                     help="take state_dict_ema when present (default)")
    parser.add_argument("--problems-only", action="store_true",
                        help="do not list the tensors that load")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction,
                        help="override config settings, as in mmdet tools")
    args = parser.parse_args(argv)

    import smix_mmdet
    try:
        report = smix_mmdet.check_backbone(
            args.config, args.checkpoint, cfg_options=args.cfg_options,
            use_ema=args.use_ema)
    except (FileNotFoundError, ValueError, smix_mmdet.CheckpointReadError) \
            as err:
        print(f"check_backbone: {err}", file=sys.stderr)
        return 2
    for line in report.lines(show_loaded=not args.problems_only):
        print(line)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
