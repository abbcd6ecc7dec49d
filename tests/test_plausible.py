"""Spectra no galaxy can emit are flagged IMPLAUSIBLE and predicted as NaN (shipped model).

Each impossible spectrum is made from a real SDSS spectrum; the same real spectra, unaltered,
must never be flagged.
"""

import warnings

import astropy.units as u
import numpy as np
import pytest
from astropy.nddata import InverseVariance
from specutils import Spectrum

from specir import Flags, predict_ir, prepare_spectra, read_sdss
from specir.errors import SpecIRWarning
from specir.plausible import MAX_ROUGHNESS, axis_reversed, check_grid
from specir.spectra import prepare_grid_arrays

VALUE_COLUMNS = ("w1_flux", "w4_mag", "w2_w3", "log_lagn", "q_pah", "w3_mag_err")


@pytest.fixture(scope="module")
def real(sdss_files):
    return [read_sdss(f) for f in sdss_files]


def _remade(spec, flux=None, ivar=None, wave=None):
    """The spectrum with its flux, inverse variance or wavelengths replaced (float64)."""
    unit = spec.flux.unit
    return Spectrum(
        flux=(spec.flux.value.astype(float) if flux is None else flux) * unit,
        spectral_axis=(spec.spectral_axis.value if wave is None else wave) * u.AA,
        uncertainty=InverseVariance(
            spec.uncertainty.array.astype(float) if ivar is None else ivar, unit=unit**-2
        ),
        mask=spec.mask,
        redshift=float(spec.redshift.value),
    )


def test_real_spectra_are_never_implausible(real):
    prep = prepare_spectra(real)
    assert not np.any(prep.flags & Flags.IMPLAUSIBLE)


def _impossible(spec):
    f, iv = spec.flux.value.astype(float), spec.uncertainty.array.astype(float)
    perm = np.random.default_rng(0).permutation(f.size)
    return {
        "flux x 1e30": (_remade(spec, flux=f * 1e30), "beyond any galaxy"),
        "flux x 1e30, ivar / 1e60": (_remade(spec, f * 1e30, iv / 1e60), "beyond any galaxy"),
        "flux all negative": (_remade(spec, flux=-np.abs(f)), "negative throughout"),
        "flux sign flipped": (_remade(spec, flux=-f), "negative throughout"),
        "pixels scrambled": (_remade(spec, f[perm], iv[perm]), "scrambled"),
        "wavelengths reversed, not the flux": (
            _remade(spec, wave=spec.spectral_axis.value[::-1]),
            "spectral axis reversed",
        ),
    }


def test_impossible_spectra_give_nan_and_the_flag(real):
    """predict_ir with the shipped model: every impossible row NaN and IMPLAUSIBLE; the real
    spectrum beside them keeps finite values."""
    cases = _impossible(real[0])
    spectra = [real[0]] + [s for s, _ in cases.values()]
    with pytest.warns(SpecIRWarning, match="IMPLAUSIBLE") as record:
        table = predict_ir(spectra, device="cpu")
    text = " ".join(str(w.message) for w in record)
    flags = np.asarray(table["flags"])
    assert not flags[0] & Flags.IMPLAUSIBLE
    for name in VALUE_COLUMNS[:2]:
        assert np.isfinite(table[name][0].value), name
    for i, (case, (_, words)) in enumerate(cases.items(), start=1):
        assert flags[i] & Flags.IMPLAUSIBLE, case
        assert not flags[i] & Flags.NO_DATA, case
        for name in VALUE_COLUMNS:
            assert np.isnan(table[name][i].value), (case, name)
        assert f"{words}" in text and f"#{i}" in text, (case, text)


def test_reversed_axis_found_by_the_night_sky(real, sdss_files):
    """Reversed wavelengths (flux and noise left as they were) are flagged for every real
    spectrum whose noise covers the sky lines; correctly ordered ones never are."""
    checked = 0
    for path, spec in zip(sdss_files, real, strict=True):
        wave = spec.spectral_axis.value
        ivar = np.where(spec.mask, 0.0, spec.uncertainty.array)
        assert not axis_reversed(wave, ivar), path.name
        if np.mean(spec.mask) > 0.3:  # half masked (spec-0266-51630-0174): no verdict either way
            continue
        assert axis_reversed(wave, ivar[::-1]), path.name
        checked += 1
    assert checked == 11


def test_many_spectra_at_once_agree_with_one_by_one(real):
    """The vectorised check of a block of spectra (what predict_ir runs) gives, row by row,
    what the per-row percentile definition of the jaggedness gives."""
    from specir.plausible import _jaggedness, axes_reversed

    wave = real[0].spectral_axis.value
    ivar = np.stack(
        [
            np.where(s.mask, 0.0, s.uncertainty.array)
            for s in real
            if s.spectral_axis.size == wave.size
        ]
    )
    both = np.concatenate([ivar, ivar[:, ::-1]]).astype(float)
    got = _jaggedness(wave, both)
    for row, value in zip(both, got, strict=True):  # the definition, one row at a time
        ln = np.log(np.where(row > 0, row, np.nan))
        ok = np.isfinite(ln)
        filled = np.where(ok, ln, np.median(ln[ok]))
        from scipy.ndimage import median_filter

        dev = np.abs(filled - median_filter(filled, size=15, mode="nearest"))
        r = np.percentile(dev[ok & (wave > 7200)], 90)
        b = np.percentile(dev[ok & (wave < 5500)], 90)
        expect = np.log(r / b) if max(r, b) >= 0.05 and min(r, b) > 0 else np.nan
        assert value == pytest.approx(expect, nan_ok=True, rel=1e-12)
    flags = axes_reversed(wave, both)
    assert list(flags) == [axis_reversed(wave, row) for row in both]
    assert flags[len(ivar) :].sum() >= 1 and not flags[: len(ivar)].any()


def test_smooth_noise_gives_no_verdict():
    """Noise without night-sky structure (simulated, or an f_nu unit conversion) is never
    taken for a reversed axis, whichever way it runs."""
    wave = np.linspace(3800.0, 9200.0, 4000)
    for ivar in (np.full(4000, 4.0), (wave / 5000.0) ** 4, (wave / 5000.0) ** -4):
        assert not axis_reversed(wave, ivar) and not axis_reversed(wave, ivar[::-1])


def test_grid_arrays_of_catalog_jobs_are_checked_too(real):
    """prepare_grid_arrays (catalog jobs) flags the impossible rows, not the real ones."""
    prep = prepare_spectra(real[:3])
    flux = prep.restored_flux().value.astype(float)
    ivar = prep.ivar / prep.norm[:, None] ** 2
    flux[1] *= 1e30
    flux[2] = -np.abs(flux[2])
    grid = prepare_grid_arrays(flux, ivar, prep.z)
    assert [bool(f & Flags.IMPLAUSIBLE) for f in grid.flags] == [False, True, True]


def test_check_grid_thresholds():
    """Each check fires on its own side of its threshold."""
    rng = np.random.default_rng(2)
    n = 500
    ivar = np.full((4, n), 1.0)
    smooth = 50 + rng.normal(0, 1, n)  # noise-level jumps: median ratio ~ 0.45
    jumpy = 50 + rng.normal(0, 1, n) + np.where(np.arange(n) % 2, 8.0, -8.0)
    noise = rng.normal(0, 1, n)
    noise -= noise.mean()
    # mean -0.2 sigma per pixel is -4.5 sigma over 500 pixels (noise); -0.25 is -5.6 (negative)
    flux = np.stack([smooth, jumpy, noise - 0.2, noise - 0.25])
    found = check_grid(flux, ivar, np.full(4, 0.1), np.array([50.0, 50.0, 1.0, 1.0]))
    assert found["scrambled"].tolist() == [False, True, False, False]
    assert found["negative"].tolist() == [False, False, False, True]
    assert not found["too_bright"].any()
    ratio = np.median(np.diff(jumpy) ** 2 / 2.0)
    assert ratio > MAX_ROUGHNESS > np.median(np.diff(smooth) ** 2 / 2.0)


def test_no_warning_for_clean_spectra(real):
    with warnings.catch_warnings():
        warnings.simplefilter("error", SpecIRWarning)
        prepare_spectra(real[:2])
