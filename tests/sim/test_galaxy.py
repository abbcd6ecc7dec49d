"""Physics of the simulated galaxies at fixed parameters (issue 3 acceptance tests)."""

import numpy as np
import pytest

pytest.importorskip("bagpipes")
pytest.importorskip("speclite")

from specir.errors import SpecIRInputError
from specir.sim import model_photometry


def w12(p):
    return p["w1_mag"] - p["w2_mag"]


def w23(p):
    return p["w2_mag"] - p["w3_mag"]


@pytest.mark.parametrize(
    ("z", "q_lo", "q_hi"), [(0.2, 1.77, 3.19), (0.3, 1.12, 3.90), (0.1, 2.50, 3.19)]
)
def test_qpah_raises_w3_leaves_w1_within_5_percent(z, q_lo, q_hi):
    lo = model_photometry(z=z, qpah=q_lo)
    hi = model_photometry(z=z, qpah=q_hi)
    assert hi["w3_flux_true"] > 1.15 * lo["w3_flux_true"]
    assert abs(hi["w1_flux_true"] / lo["w1_flux_true"] - 1.0) < 0.05
    assert lo["modelmag_r"] == pytest.approx(hi["modelmag_r"], abs=1e-6)


def test_qpah_w1_change_is_the_3_3_micron_feature():
    # Below z ~ 0.15 the 3.3 µm PAH feature lies inside W1 (2.8-3.8 µm): a large q_PAH step
    # moves W1 by the feature's share only (a few per cent, < 10%), and not at all once
    # redshift has carried the feature out of the band.
    near = [model_photometry(z=0.1, qpah=q)["w1_flux_true"] for q in (1.77, 3.19)]
    far = [model_photometry(z=0.25, qpah=q)["w1_flux_true"] for q in (1.77, 3.19)]
    assert 1.0 < near[1] / near[0] < 1.10
    assert abs(far[1] / far[0] - 1.0) < 0.02


def test_sfr_makes_w2_w3_redder():
    # at fixed mass formed, age, dust and dust-emission parameters: a longer tau -> more SFR
    results = [model_photometry(tau=tau) for tau in (0.8, 1.5, 3.0, 8.0)]
    sfr = [r["log_sfr"] for r in results]
    colour = [w23(r) for r in results]
    assert np.all(np.diff(sfr) > 0)
    assert np.all(np.diff(colour) > 0)


def test_luminous_agn_meets_stern_criterion():
    for agn_type in (1, 2):
        p = model_photometry(agn_type=agn_type, log_lagn=45.5, t_hot=1200.0)
        assert w12(p) > 0.8
    none = model_photometry()
    assert w12(none) < 0.5


def test_quiescent_without_agn_has_w1_w2_near_zero():
    q = model_photometry(z=0.03, age=10.0, tau=0.8, av=0.05, umin=0.3)
    assert q["log_sfr"] - q["log_mstar"] < -11.0
    assert abs(w12(q)) < 0.15
    assert 0.2 < w23(q) < 1.5
    # the k-correction reddens W1 - W2 with redshift (rest 1.6 µm bump and CO band head), but
    # an old population stays far below the Stern et al. (2012) AGN cut of 0.8
    far = model_photometry(z=0.3, age=10.0, tau=0.8, av=0.05, umin=0.3)
    assert w12(q) < w12(far) < 0.5


def test_agn_luminosity_raises_w1_w2_monotonically():
    colours = [w12(model_photometry(agn_type=1, log_lagn=lum)) for lum in (43.0, 44.0, 45.0)]
    assert np.all(np.diff(colours) > 0)


def test_unknown_parameter_is_named():
    with pytest.raises(SpecIRInputError, match="qpha"):
        model_photometry(qpha=3.0)


def test_type2_hot_dust_extinction_fades_the_near_infrared_more():
    """A type 2 behind more A_V(hot) is fainter in W1 and W2, W1 the more (the curve falls
    with wavelength); NaN is the fixed-share view; a negative A_V is refused by name."""
    seen = [model_photometry(agn_type=2, log_lagn=45.5, av_hot=a) for a in (0.0, 15.0, 35.0)]
    w1 = [p["w1_mag"] for p in seen]
    assert w1[0] < w1[1] < w1[2]
    assert w12(seen[2]) > w12(seen[0])
    assert np.isfinite(model_photometry(agn_type=2, log_lagn=45.5, av_hot=np.nan)["w1_mag"])
    for bad in (-3.0, np.inf, "deep"):
        with pytest.raises(SpecIRInputError, match="av_hot"):
            model_photometry(agn_type=2, av_hot=bad)
