"""The ``specir`` command: every sub-command registered."""


def test_cli_registers_commands():
    from specir.scripts.main import COMMANDS

    for name in ("train", "predict", "evaluate"):
        assert name in COMMANDS
    from specir.scripts.main import _build_parser

    args = _build_parser().parse_args(["predict", "a.fits", "-o", "x.ecsv"])
    assert args.files == ["a.fits"]
