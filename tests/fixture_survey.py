"""A tiny HATS catalog with the agreed spectra + WISE columns, for MECHANICS tests only.

This is NOT a science check and NOT a simulated survey: the spectra are a power law plus a few
emission lines and the "WISE" magnitudes are simple functions of those features, so that a tiny
model can learn something in a few seconds. It exercises reading, splitting, training, resuming,
censoring, bundling and prediction; the real training data come from ``specir.sim``.
"""

import numpy as np
import pandas as pd

from specir.bands import mjy_to_mag
from specir.grid import GRID_NPIX, grid_wavelength


def make_fixture_frame(n=400, *, seed=0):
    """Rows with the agreed column names (spectra on the model grid, AllWISE-style mags)."""
    rng = np.random.default_rng(seed)
    wave = grid_wavelength()
    ra = rng.uniform(0, 360, n)
    dec = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    z = rng.uniform(0.02, 0.3, n)
    amp = 10 ** rng.uniform(0, 1.5, n)  # continuum level at 5500 Å rest
    slope = rng.uniform(-2.5, 0.5, n)
    line = 10 ** rng.uniform(-1, 1.3, n)  # Hα equivalent-width-like strength (SF tracer)
    agn_type = rng.choice([0, 1, 2], n, p=[0.6, 0.2, 0.2])
    oiii = np.where(agn_type > 0, 10 ** rng.uniform(0, 1.2, n), 0.3)
    rest = wave[None, :] / (1 + z[:, None])

    def gauss(centre, width, strength):
        return strength[:, None] * np.exp(-0.5 * ((rest - centre) / width) ** 2)

    model = amp[:, None] * (rest / 5500.0) ** slope[:, None]
    model = model * (1 + gauss(6563, 4, line) + gauss(5007, 3, oiii) + gauss(4861, 4, line / 3))
    sigma = 0.05 * amp[:, None] + 0.02 * model
    flux = (model + rng.normal(size=model.shape) * sigma).astype(np.float32)
    ivar = (1 / sigma**2).astype(np.float32)
    mask = np.zeros_like(flux, dtype=bool)
    mask[:, 1000:1010] = True  # a bad column, as in real data
    ivar[mask] = 0

    # "WISE" fluxes in mJy as functions of the spectral features (a mechanics toy)
    lognorm = np.log10(amp)
    w1 = 10 ** (lognorm - 0.3 * slope - 0.5)
    w2 = w1 * 10 ** (-0.1 + 0.25 * (agn_type > 0) * np.log10(oiii + 1))
    w3 = w1 * 10 ** (-0.2 + 0.6 * np.log10(line))
    w4 = w3 * 10 ** (-0.1 + 0.3 * np.log10(oiii + 1))
    true = np.stack([w1, w2, w3, w4], axis=1)
    obs_sigma = np.array([0.02, 0.03, 0.2, 1.2]) + 0.03 * true
    obs = true + rng.normal(size=true.shape) * obs_sigma
    snr = obs / obs_sigma
    detected = snr >= 2
    mag, mag_err = mjy_to_mag(np.where(detected, obs, np.nan), obs_sigma)
    upper = mjy_to_mag(np.maximum(obs, 0) + 2 * obs_sigma)  # 95% upper limit
    mag = np.where(detected, mag, upper)
    mag_err = np.where(detected, mag_err, np.nan)
    lagn = np.where(agn_type > 0, 43.0 + np.log10(oiii), np.nan)
    df = pd.DataFrame(
        {
            "id": np.arange(n, dtype=np.int64),
            "ra": ra,
            "dec": dec,
            "z": z,
            "flux": list(flux),
            "ivar": list(ivar),
            "mask": list(mask),
        }
    )
    for i in range(4):
        b = f"w{i + 1}"
        df[f"{b}mpro"] = mag[:, i]
        df[f"{b}sigmpro"] = mag_err[:, i]
        df[f"{b}snr"] = snr[:, i]
        df[f"{b}_flux_true"] = true[:, i]
    df["log_lagn_true"] = lagn
    df["agn_type_true"] = agn_type.astype(np.int8)
    # the AGN's share of the "WISE" light: the weaker ones (faint [O III]) are not visible
    df["agn_ir_share_true"] = np.where(agn_type > 0, 0.02 * oiii, 0.0)
    df["q_pah_true"] = np.clip(3.0 + 1.5 * slope + 0.5 * np.log10(line), 0.3, 7)
    # toy "physics truths" for evaluate's information ceiling: the generating parameters
    df["log_mstar_true"] = lognorm
    df["log_sfr_true"] = lognorm + np.log10(line)
    df["av_true"] = -slope
    for i, b in enumerate("ugriz"):
        df[f"modelmag_{b}"] = 22.5 - 2.5 * lognorm + 0.3 * i * slope
    df.loc[df.index % 10 == 3, "modelmag_r"] = np.nan  # photometry missing for some rows
    assert flux.shape[1] == GRID_NPIX
    return df


def write_fixture_catalog(path, n=400, *, seed=0):
    """Write the fixture as a real HATS catalog with lsdb; returns the path."""
    import lsdb

    df = make_fixture_frame(n, seed=seed)
    cat = lsdb.from_dataframe(
        df,
        ra_column="ra",
        dec_column="dec",
        lowest_order=0,
        highest_order=2,
        partition_rows=max(50, n // 6),
    )
    cat.write_catalog(path, progress_bar=False)
    return path
