"""The ``specir`` command: every sub-command registered."""


def test_cli_registers_commands():
    from specir.scripts.main import COMMANDS

    for name in ("train", "predict", "evaluate"):
        assert name in COMMANDS
    from specir.scripts.main import _build_parser

    args = _build_parser().parse_args(["predict", "a.fits", "-o", "x.ecsv"])
    assert args.files == ["a.fits"]


def test_a_full_disk_mid_run_is_one_line_and_exit_1(monkeypatch, caplog):
    """An OSError during a run (here ENOSPC) is reported in words, not as a traceback."""
    import errno

    from specir.scripts import EXIT_FAILED, predict
    from specir.scripts import main as cli

    def full_disk(args):
        raise OSError(errno.ENOSPC, "No space left on device", "/data/out.parquet")

    monkeypatch.setattr(predict, "run", full_disk)
    assert cli.main(["predict", "x.fits", "-o", "out.parquet"]) == EXIT_FAILED
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert errors == [
        "/data/out.parquet: No space left on device. Fix: check free space, permissions and "
        "paths, then rerun (with --resume where the command has it)"
    ]
