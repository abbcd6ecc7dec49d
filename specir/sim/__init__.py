"""A physically grounded simulated SDSS × WISE survey (optional extra ``sim``).

Galaxy SEDs come from bagpipes (BC03 stellar populations, Cloudy nebular emission, Draine & Li
dust emission with energy balance); AGN add narrow/broad lines, a disc continuum and an
analytic torus; the observation adds SDSS fibre spectra and AllWISE-style photometry.
bagpipes is GPL-3.0 licensed and only imported when a simulation runs.

Public API: :func:`simulate` (in memory), :func:`write_survey` (parallel, resumable, HATS),
:func:`model_photometry` (one galaxy at fixed parameters), :func:`realism_report` and
:func:`survey_realism` (the survey against published infrared relations), :class:`SimConfig`,
:func:`load_config`.
"""

from specir.sim.config import (
    AGNConfig,
    PopulationConfig,
    SDSSConfig,
    SimConfig,
    WISEConfig,
    load_config,
)
from specir.sim.galaxy import DEFAULT_GALAXY, model_photometry
from specir.sim.realism import realism_report
from specir.sim.report import survey_realism
from specir.sim.survey import simulate, write_survey

__all__ = [
    "DEFAULT_GALAXY",
    "AGNConfig",
    "PopulationConfig",
    "SDSSConfig",
    "SimConfig",
    "WISEConfig",
    "load_config",
    "model_photometry",
    "realism_report",
    "simulate",
    "survey_realism",
    "write_survey",
]
