"""Fixtures of the analysis tests: a small simulated survey (real specir.sim, bagpipes)."""

import pytest


@pytest.fixture(scope="session")
def small_survey(tmp_path_factory):
    """A 40-galaxy simulated SDSS x WISE survey written as HATS (seed 7)."""
    from specir.sim.survey import write_survey

    return write_survey(tmp_path_factory.mktemp("sim") / "survey", n=40, seed=7, n_workers=1)


@pytest.fixture(scope="session")
def small_survey_frame(small_survey):
    from specir.analysis.sedrun import read_galaxies

    return read_galaxies(small_survey)
