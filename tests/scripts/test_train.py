"""The ``specir train`` command on the mechanics fixture (not a science check)."""

import argparse
import json

from specir.scripts import train as tr


def _run(module, argv):
    parser = argparse.ArgumentParser()
    module.add_arguments(parser)
    return module.run(parser.parse_args(argv))


def test_train_command_from_toml(fixture_catalog, tmp_path):
    cfg = tmp_path / "train.toml"
    cfg.write_text(
        f'catalog = "{fixture_catalog}"\noutput = "bundle"\nepochs = 1\nbatch_size = 64\n'
        "split_order = 2\nsplit_fractions = [0.6, 0.2, 0.2]\nmax_rows = 200\n"
        "[model]\nchannels = [4, 8]\nkernels = [9, 5]\nstrides = [8, 4]\nmlp_hidden = 16\n"
        "latent_dim = 6\n[training_data]\ndescription = 'mechanics fixture'\n"
    )
    assert _run(tr, [str(cfg)]) == 0
    card = json.loads((tmp_path / "bundle" / "model_card.json").read_text())
    assert card["training_data"]["n_rows_read"] == 200
    assert (tmp_path / "bundle.checkpoints" / "last.pt").is_file()
