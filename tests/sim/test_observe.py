"""Building blocks of the simulated observation: fibre loss, rebinning, noise, AGN, WISE."""

import numpy as np
import pytest

from specir.grid import GRID_NPIX, grid_wavelength
from specir.resample import edges_from_centres
from specir.sim.agn import agn_optical, calzetti_k, torus
from specir.sim.config import SDSSConfig, WISEConfig
from specir.sim.observe import fiber_fraction, observe_spectrum, observe_wise, rebin
from specir.sim.sed import air_to_vacuum

AGN = {
    "agn_type": 2, "log_lagn": 45.0, "log_mbh": 8.0, "log_oiii": 45.0 - np.log10(3500.0),
    "t_hot": 1200.0, "t_warm": 250.0, "f_hot": 0.15, "f_warm": 0.25, "oiii_hb": 10.0,
    "nii_ha": 1.0, "oii_oiii": 0.3, "sii_ha": 0.4, "oi_ha": 0.1, "nlr_sigma": 200.0,
    "av_lines": 0.0,
}  # fmt: skip


def test_fiber_fraction_depends_on_size_and_redshift():
    z = np.array([0.02, 0.05, 0.1, 0.3])
    f = fiber_fraction(np.full(4, 4.0), np.ones(4), z)
    assert np.all((f > 0) & (f < 1)) and np.all(np.diff(f) > 0)
    small, big = fiber_fraction([1.0, 10.0], [4.0, 4.0], [0.1, 0.1])
    assert small > big


def test_rebin_conserves_flux_on_the_model_grid():
    w = np.geomspace(3000.0, 10000.0, 40000)
    f = 1.0 + np.exp(-0.5 * ((w - 6000.0) / 3.0) ** 2) * 100
    out = rebin(w, f)
    edges = edges_from_centres(grid_wavelength())
    inside = (w > edges[0]) & (w < edges[-1])
    assert out.shape == (GRID_NPIX,)
    assert np.sum(out * np.diff(edges)) == pytest.approx(
        np.trapezoid(f[inside], w[inside]), rel=1e-3
    )
    # the line lands in the pixels around 6000 Å, the continuum stays at 1
    assert out[np.argmin(np.abs(grid_wavelength() - 6000.0))] > 10.0
    assert np.median(out) == pytest.approx(1.0, abs=1e-6)


def test_air_to_vacuum_is_specutils_morton_2000_above_2000_aa():
    assert float(air_to_vacuum(6562.80)) == pytest.approx(6564.614, abs=2e-3)
    assert float(air_to_vacuum(1500.0)) == 1500.0  # the UV is tabulated in vacuum already


def test_spectrum_noise_is_calibrated_to_the_sdss_requirement():
    cfg = SDSSConfig(exposure_scatter=0.0, calibration_error=0.0)
    w = np.geomspace(3000.0, 10000.0, 30000)
    fnu = 3631e-23 * 10 ** (-0.4 * 20.2)  # fibre g = 20.2, flat in f_nu
    flam = fnu * 2.99792458e18 / w**2
    s = np.arange(w.size)
    flux, ivar, mask = observe_spectrum(
        w, flam, np.zeros_like(w), 100.0, np.log(w[1] / w[0]), s, 1.0,
        np.random.default_rng(0), cfg,
    )  # fmt: skip
    g = grid_wavelength()
    band = (g > 4500) & (g < 4900) & ~mask
    model = fnu * 2.99792458e18 / g**2 * 1e17
    snr = np.median(model[band] * np.sqrt(ivar[band]))
    assert snr == pytest.approx(4.5, rel=0.1)
    assert flux.shape == (GRID_NPIX,) and flux.dtype == np.float32
    # sky lines raise the noise: 5577 Å and the OH forest near 8900 Å
    near_sky = np.abs(g - float(air_to_vacuum(5577.3))) < 1.0
    assert np.all(ivar[near_sky & ~mask] < np.median(ivar[(g > 5400) & (g < 5500)]))
    assert mask[g < 3800].all() and mask[g > 9200].all()


def test_observe_wise_reports_upper_limits_like_allwise():
    cfg = WISEConfig(depth_scatter=0.0)
    flux = np.array([[1.0, 1.0, 5.0, 20.0], [1e-4, 1e-4, 1e-4, 1e-4]])
    out = observe_wise(flux, np.random.default_rng(1), cfg)
    assert np.all(np.isfinite([out[f"w{b}sigmpro"][0] for b in range(1, 5)]))
    for b in range(1, 5):
        assert out[f"w{b}snr"][1] < 2
        assert np.isnan(out[f"w{b}sigmpro"][1])
        # the upper limit is at least the 2-sigma flux: brighter than any detection there
        limit = -2.5 * np.log10(2 * cfg.sigma_mjy[b - 1] / [309540, 171787, 31674, 8363][b - 1])
        assert out[f"w{b}mpro"][1] <= limit + 1e-9


def test_torus_carries_the_configured_fraction_of_lbol():
    w = np.geomspace(3e3, 3e7, 20000)
    lum = np.trapezoid(torus(w, AGN), w)  # no av_hot: the "fraction" view of a type 2
    expected = (0.6 * 0.15 + 0.25) * 10**45.0  # type 2 keeps 60% of the hot dust
    assert lum == pytest.approx(expected, rel=0.02)
    assert np.all(torus(w, {**AGN, "agn_type": 0}) == 0)
    # the clumpy torus adds its share, all of it in type 2 too (nearly isotropic emission)
    clumpy = {**AGN, "f_torus": 0.25, "torus_y": 10.0, "torus_q": 1.5}
    assert np.trapezoid(torus(w, clumpy), w) == pytest.approx(expected + 0.25e45, rel=0.02)
    # a type 1 emits all of each component, whatever av_hot says
    type1 = {**clumpy, "agn_type": 1, "av_hot": 30.0}
    assert np.trapezoid(torus(w, type1), w) == pytest.approx(0.65e45, rel=0.02)


def test_type2_torus_seen_through_its_hot_dust_extinction():
    """``av_hot``: type 1 AGN are 7 (10) times brighter than type 2 in the near-infrared at
    fixed mid-infrared (X-ray) luminosity (Burtscher et al. 2015), the mid-infrared nearly
    isotropic; the extinction grows with A_V and falls from 2 to 4 µm."""
    rng = np.random.default_rng(3)
    w = np.array([2.2e4, 3.0e4, 4.0e4, 12e4])
    ratios = []
    for _ in range(300):
        p = {
            **AGN, "f_torus": 0.25, "t_hot": rng.uniform(1000.0, 1400.0),
            "torus_y": 10.0 ** rng.uniform(np.log10(5.0), np.log10(30.0)),
            "torus_q": rng.uniform(1.0, 2.0), "av_hot": rng.uniform(15.0, 35.0),
        }  # fmt: skip
        one = {**p, "agn_type": 1}
        type1 = torus(w, one) + agn_optical(w, one)
        type2 = torus(w, p)
        ratios.append(type1 / type2)
    ratios = np.array(ratios)
    at_fixed_mir = ratios[:, 0] / ratios[:, 3]
    lo, mid, hi = np.percentile(at_fixed_mir, [16, 50, 84])
    assert lo < 7.0 < hi and mid > 3.0
    assert np.median(ratios[:, 3]) < 1.15  # 12 µm: nearly isotropic
    assert np.all(np.median(ratios[:, :3], axis=0)[:-1] > np.median(ratios[:, :3], axis=0)[1:])
    base = {**AGN, "f_torus": 0.25, "torus_y": 10.0, "torus_q": 1.5}
    k = [torus(w, {**base, "av_hot": a})[0] for a in (0.0, 15.0, 35.0, np.inf)]
    assert k[0] > k[1] > k[2] > k[3] >= 0.0  # an infinite column hides the hot dust, no NaN


def test_clumpy_torus_fills_the_gap_between_hot_and_warm_dust():
    """Its clouds span 1500 K down to 1500 Y^(-1/2.8) K: more light at 4-8 µm than without."""
    w = np.geomspace(1e4, 3e5, 2000)
    two = torus(w, AGN)
    clumpy = torus(w, {**AGN, "f_torus": 0.25, "torus_y": 30.0, "torus_q": 1.0})
    mid = (w > 4e4) & (w < 8e4)
    assert np.all(clumpy[mid] > 1.5 * two[mid])
    # a steeper radial fall (q = 2) keeps more of the light in the hot clouds
    steep = torus(w, {**AGN, "f_torus": 0.25, "torus_y": 30.0, "torus_q": 2.0})
    assert steep[w < 3e4].sum() > clumpy[w < 3e4].sum()


def test_narrow_lines_follow_loiii_and_attenuation():
    w = np.linspace(4900.0, 5100.0, 20001)
    oiii = (w > 4990) & (w < 5030)
    lines = agn_optical(w, AGN)
    assert np.trapezoid(lines[oiii], w[oiii]) == pytest.approx(10 ** AGN["log_oiii"], rel=1e-3)
    dusty = agn_optical(w, {**AGN, "av_lines": 1.0})
    ratio = np.trapezoid(dusty[oiii], w[oiii]) / np.trapezoid(lines[oiii], w[oiii])
    assert ratio == pytest.approx(10 ** (-0.4 * calzetti_k(5008.24) / 4.05), rel=1e-3)
    # type 1 adds a blue continuum and a broad H-beta
    t1 = agn_optical(w, {**AGN, "agn_type": 1})
    assert np.all(t1 > lines)
