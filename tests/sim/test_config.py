"""Configuration of the simulated survey: defaults, TOML files, errors that name the field."""

import pytest

from specir.errors import SpecIRInputError
from specir.sim.config import SimConfig, load_config


def test_defaults_are_the_sdss_main_sample():
    cfg = SimConfig()
    assert cfg.sdss.r_limit == 17.77
    assert cfg.population.z_range == (0.01, 0.35)
    # W1/W2 deep, W3/W4 shallow (AllWISE)
    s = cfg.wise.sigma_mjy
    assert s[0] < s[2] and s[1] < s[3]


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("[population]\nz_range = [0.3, 0.1]\n", "population.z_range"),
        ("[sdss]\nr_limit = -3\n", "sdss.r_limit"),
        ("[sdss]\nresolution = 'high'\n", "sdss.resolution"),
        ("[agn]\nfraction_at_1e11 = 1.5\n", "agn.fraction_at_1e11"),
        ("[agn]\ntype2_view = 'hidden'\n", "agn.type2_view"),
        ("[agn]\ntype2_av_hot_range = [20.0]\n", "agn.type2_av_hot_range"),
        ("[wise]\nsigma_mjy = [0.01, 0.01, 0.1]\n", "wise.sigma_mjy"),
        ("[sdss]\nrlimit = 17\n", "sdss.rlimit"),
        ("[telescope]\nx = 1\n", "telescope"),
        ("chunk_size = 0\n", "chunk_size"),
    ],
)
def test_bad_values_name_the_field(tmp_path, text, field):
    path = tmp_path / "sim.toml"
    path.write_text(text)
    with pytest.raises(SpecIRInputError) as info:
        load_config(path)
    assert info.value.field == field
    assert field in str(info.value)


def test_toml_overrides(tmp_path):
    path = tmp_path / "sim.toml"
    path.write_text("chunk_size = 7\n[sdss]\nr_limit = 17.0\n[population]\nz_range = [0.02, 0.2]\n")
    cfg = load_config(path)
    assert cfg.chunk_size == 7
    assert cfg.sdss.r_limit == 17.0
    assert cfg.population.z_range == (0.02, 0.2)
    assert cfg.agn == SimConfig().agn


def test_the_default_bundles_training_survey_config():
    """``sim.toml`` beside the shipped weights reproduces the survey they were trained on:
    z from 0.002 and type 2 AGN seen as the simulator then saw them."""
    from pathlib import Path

    import specir

    path = Path(specir.__file__).parent / "data" / "models" / "default" / "sim.toml"
    cfg = load_config(path)
    assert cfg.population.z_range == (0.002, 0.35)
    assert cfg.agn.type2_view == "fraction" != SimConfig().agn.type2_view
    assert cfg.agn.torus == SimConfig().agn.torus == "clumpy"


def test_missing_and_broken_files(tmp_path):
    with pytest.raises(SpecIRInputError, match="config"):
        load_config(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[sdss\n")
    with pytest.raises(SpecIRInputError, match="TOML"):
        load_config(bad)


def test_config_is_frozen():
    cfg = SimConfig()
    with pytest.raises(AttributeError):
        cfg.chunk_size = 3
