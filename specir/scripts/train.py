"""``specir train CONFIG``: train a model bundle from a HATS catalog."""

__all__ = ["add_arguments", "run"]


def add_arguments(parser):
    parser.add_argument("config", help="TOML training configuration")
    parser.add_argument("--device", default=None, help="override the config's device")


def run(args):
    from specir.train import load_config, train

    overrides = {"device": args.device} if args.device else {}
    train(load_config(args.config, **overrides))
    return 0
