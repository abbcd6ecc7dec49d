"""``specir train CONFIG``: train a model bundle from a HATS catalog."""

__all__ = ["add_arguments", "run"]


def add_arguments(parser):
    parser.add_argument("config", help="TOML training configuration")
    parser.add_argument("--device", default=None, help="override the config's device")
    parser.add_argument(
        "--calibrate-only",
        action="store_true",
        help="refit the calibration of the bundle this config trained (weights unchanged)",
    )


def run(args):
    from specir.train import load_config, recalibrate, train

    overrides = {"device": args.device} if args.device else {}
    config = load_config(args.config, **overrides)
    if args.calibrate_only:
        recalibrate(config)
    else:
        train(config)
    return 0
