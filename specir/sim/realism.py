"""How closely a simulated survey follows published infrared relations of real galaxies.

:func:`realism_report` measures, on the scalar columns of a simulated survey (``z``,
``w1_flux_true`` … ``w4_flux_true``, ``log_mstar_true``, ``log_sfr_true``,
``log_lagn_true``, ``agn_type_true``), each published relation below and compares it with
the literature value, within a tolerance. Every literature number is defined once, here, with
its source; ``docs/simulation.rst`` gives the full references. Luminosities are νL_ν of the
observed-frame band at the galaxy's distance and colours are observed-frame (no
k-correction), so only galaxies at ``z <= z_max`` enter the relations, except the Stern et
al. selection, which is made on observed colours at any redshift.

Examples
--------
>>> report = realism_report(demo_frame())
>>> sorted(report.rows[0])
['group', 'informative', 'literature', 'n', 'passed', 'relation', 'simulation', 'tolerance']
"""

from dataclasses import dataclass, field

import numpy as np
from scipy.special import ndtr

from specir.bands import WISE_BANDS, mjy_to_mag
from specir.sim.agn import SPECIFIC_EDDINGTON
from specir.sim.cosmo import luminosity_distance_cm

__all__ = [
    "AGN_INCIDENCE_BINS",
    "AIRD12",
    "L_X_SCATTER_DEX",
    "MASS_BINS",
    "MATEOS12",
    "RealismReport",
    "demo_frame",
    "realism_report",
]

L_SUN_ERG_S = 3.828e33
"""Nominal solar luminosity (IAU 2015 B3), erg/s."""
C_UM_HZ = 2.99792458e14
"""Speed of light in µm/s."""

MASS_BINS = ((8.5, 9.5), (9.5, 10.5), (10.5, 11.5))
"""log10 stellar-mass bins of the SFR relations (issue 11)."""
SF_MIN_LOG_SSFR = -10.5
"""Star-forming: log sSFR/yr above this (issue 11's selection)."""
SSFR_BINS = ((-10.5, -10.0), (-10.0, -9.5), (-9.5, -8.0))
"""log10 sSFR/yr bins of the informative breakdown of the SFR offsets (dust heated by stars
older than the SFR's 100 Myr shows as an offset growing as sSFR falls)."""
QUIESCENT_MAX_LOG_SSFR = -11.0
"""Quiescent: log sSFR/yr below this."""
MIN_GALAXIES = 20
"""A relation measured on fewer galaxies is reported but does not pass."""

# Cluver et al. (2017, ApJ 850, 68), eqs. 4 and 5: log SFR = a log(νL_ν / L_sun) + b, with
# the 1-sigma scatter; νL_ν of the stellar-continuum-subtracted band (Jarrett et al. 2013,
# AJ 145, 6: W3 - 0.158 W1, W4 - 0.059 W1, flux densities), λ = 12 µm and 22.8 µm
# (W4 after Brown, Jarrett & Cluver 2014, PASA 31, e049).
CLUVER17 = {
    "w3": {"slope": 0.889, "intercept": -7.76, "scatter": 0.15, "stellar": 0.158, "um": 12.0},
    "w4": {"slope": 0.915, "intercept": -8.01, "scatter": 0.18, "stellar": 0.059, "um": 22.8},
}
KE12_LOG_SFR_PER_LTIR = -43.41
"""Kennicutt & Evans (2012, ARA&A 50, 531): log SFR (M_sun/yr) = log L_TIR (erg/s) - 43.41."""
# Cluver et al. (2014, ApJ 782, 90), eq. 2: log M*/L_W1 = -2.54 (W1 - W2) - 0.17, L_W1 in
# solar units with M_sun(W1) = 3.24 (Vega; Jarrett et al. 2013).
CLUVER14_ML = {"slope": -2.54, "intercept": -0.17, "msun_w1": 3.24}
# Jarrett et al. (2023, ApJ 946, 95), the recalibration on GAMA-KiDS-VIKING (G23, z < 0.15) by
# the same group: log M*/L_W1 = -0.376 - 1.053 (W1 - W2), M_sun(W1) = 3.24. The acceptance row;
# Cluver et al. (2014) is reported beside it for reference.
JARRETT23_ML = {"slope": -1.053, "intercept": -0.376, "msun_w1": 3.24}
# WISE colour loci of nearby galaxies without an AGN (Vega): centres of the regions of the
# W1-W2 / W2-W3 sequence of Jarrett et al. (2017, ApJ 836, 182; 2019, ApJS 245, 25):
# spheroids W2-W3 < 1.5, star-forming discs W2-W3 > 3; non-AGN W1-W2 near 0 (Jarrett et
# al. 2011, ApJ 735, 112, Fig. 12).
JARRETT_LOCI = {"w1w2_no_agn": 0.05, "w2w3_star_forming": 3.5, "w2w3_quiescent": 1.0}
# Stern et al. (2012, ApJ 753, 30): W1 - W2 >= 0.8 at W2 < 15.05 selects AGN with 95%
# reliability and 78% completeness (against Spitzer mid-IR AGN in COSMOS).
STERN12 = {"cut": 0.8, "w2_limit": 15.05, "reliability": 0.95, "completeness": 0.78}
STERN12_MIN_LOG_LAGN = 44.5
"""AGN counted for completeness: L_bol >= 10^44.5 erg/s, those that dominate the mid-IR."""
K_BOL_X = 22.4
"""Bolometric correction of the 2-10 keV luminosity (Elvis et al. 1994, as Aird et al. 2012)."""
L_X_SCATTER_DEX = 0.35
"""Scatter of a measured X-ray luminosity about the one a UV (bolometric) luminosity predicts:
0.35-0.4 dex in general samples, 0.21-0.24 in clean, unobscured quasars (Lusso & Risaliti 2016,
ApJ 819, 154); the informative Mateos et al. rows select with it."""
# Mateos et al. (2012, MNRAS 426, 3271): at L(2-10 keV) > 1e44 erg/s, 97.1 (+2.2 -4.8) % of
# the X-ray (BUXS) type 1 and 76.5 (+13.3 -18.4) % of the type 2 AGN lie in their WISE
# W1-W2-W3 wedge, which at these luminosities selects as the W1 - W2 >= 0.8 cut does.
MATEOS12 = {
    "log_lx_min": 44.0,
    "type1": {"completeness": 0.971, "error": 0.048},
    "type2": {"completeness": 0.765, "error": 0.184},
}
# Aird et al. (2012, ApJ 746, 90): the probability that a galaxy hosts an AGN of a given
# specific accretion rate does not depend on its stellar mass (9.5 < log M* < 12); Birchall,
# Watson & Aird (2022, MNRAS; arXiv:2112.03142) find the same in z < 0.33 SDSS
# galaxies: the fraction hosting an AGN above a fixed specific accretion rate is constant over
# stellar mass. Specific accretion rate as Aird et al. define it (SPECIFIC_EDDINGTON).
AIRD12 = {"log_lambda_min": -2.0, "log_ratio": 0.0}
AGN_INCIDENCE_BINS = ((9.5, 10.5), (10.5, 11.5))
"""log10 M* bins whose AGN fractions (specific accretion rate above the limit) are compared."""


@dataclass
class RealismReport:
    """The table of :func:`realism_report` plus the arrays its figures draw."""

    rows: list = field(default_factory=list)
    """One dict per relation: group, relation, literature, simulation, tolerance, passed, n."""
    points: dict = field(default_factory=dict)
    """Arrays for the figures (log SFR true vs. from W3/W4, colours, masses)."""

    @property
    def passed(self) -> bool:
        """Whether every relation is within its tolerance."""
        return all(r["passed"] for r in self.counted)

    @property
    def n_passed(self) -> int:
        """Number of relations within tolerance."""
        return sum(r["passed"] for r in self.counted)

    @property
    def counted(self) -> list:
        """The rows that decide :attr:`passed` (all but the informative ones)."""
        return [r for r in self.rows if not r.get("informative")]

    def add(self, group, relation, literature, simulation, tolerance, n, *, informative=False):
        """Append one row; it passes when ``|simulation - literature| <= tolerance``.

        A row measured on fewer than :data:`MIN_GALAXIES` galaxies does not pass. An
        ``informative`` row (a superseded calibration shown for reference, or a breakdown shown
        for diagnosis) is reported but does not count in :attr:`passed` and :attr:`n_passed`.
        """
        close = abs(simulation - literature) <= tolerance + 1e-9
        ok = bool(np.isfinite(simulation) and close and n >= MIN_GALAXIES)
        self.rows.append(
            {
                "group": group,
                "relation": relation,
                "literature": float(literature),
                "simulation": float(simulation),
                "tolerance": float(tolerance),
                "passed": ok,
                "n": int(n),
                "informative": bool(informative),
            }
        )


def _robust_sigma(x):
    x = np.asarray(x, float)
    return float(1.4826 * np.median(np.abs(x - np.median(x)))) if x.size else np.nan


def _median(x):
    return float(np.median(x)) if np.size(x) else np.nan


def _nu_l_nu(flux_mjy, z, wavelength_um):
    """log10 νL_ν / L_sun of a flux density in mJy at redshift z (no k-correction)."""
    dl = luminosity_distance_cm(z)
    with np.errstate(divide="ignore", invalid="ignore"):
        lum = 4.0 * np.pi * dl**2 * (C_UM_HZ / wavelength_um) * flux_mjy * 1e-26
        return np.log10(np.where(lum > 0, lum, np.nan) / L_SUN_ERG_S)


def _columns(df):
    cols = {c: np.asarray(df[c], float) for c in ("z", "log_mstar_true", "log_sfr_true")}
    cols["agn_type"] = np.asarray(df["agn_type_true"])
    cols["agn"] = cols["agn_type"] > 0
    cols["log_lagn"] = np.asarray(df["log_lagn_true"], float)
    flux = np.stack([np.asarray(df[f"{b.name}_flux_true"], float) for b in WISE_BANDS], -1)
    cols["flux"] = flux
    cols["mag"] = mjy_to_mag(flux)
    cols["log_ssfr"] = cols["log_sfr_true"] - cols["log_mstar_true"]
    return cols


def _sfr_relations(rep, c, z_max, tol_offset, tol_scatter):
    sf = (c["log_ssfr"] > SF_MIN_LOG_SSFR) & ~c["agn"] & (c["z"] <= z_max)
    for i, band in ((2, "w3"), (3, "w4")):
        par = CLUVER17[band]
        net = c["flux"][:, i] - par["stellar"] * c["flux"][:, 0]
        log_sfr = par["slope"] * _nu_l_nu(net, c["z"], par["um"]) + par["intercept"]
        resid = log_sfr - c["log_sfr_true"]
        rep.points[f"sfr_{band}"] = (c["log_sfr_true"][sf], log_sfr[sf], c["log_mstar_true"][sf])
        ok = sf & np.isfinite(resid)
        # counted by mass; by sSFR only shown (informative), to locate an excess
        splits = (("log_mstar_true", MASS_BINS, "log M* {}-{}", False),)
        splits += (("log_ssfr", SSFR_BINS, "log sSFR {} to {}", True),)
        for column, bins, label, info in splits:
            for lo, hi in bins:
                m = ok & (c[column] >= lo) & (c[column] < hi)
                relation = f"{band.upper()} SFR - true SFR (dex), " + label.format(lo, hi)
                rep.add(
                    "Cluver et al. 2017",
                    relation,
                    0.0,
                    _median(resid[m]),
                    tol_offset,
                    m.sum(),
                    informative=info,
                )
        mass = ok & (c["log_mstar_true"] >= MASS_BINS[0][0]) & (c["log_mstar_true"] < 11.5)
        rep.add(
            "Cluver et al. 2017",
            f"{band.upper()} SFR scatter (dex)",
            par["scatter"],
            _robust_sigma(resid[mass]),
            tol_scatter,
            mass.sum(),
        )


def _colour_loci(rep, c, z_max, tol):
    mag = c["mag"]
    w12, w23 = mag[:, 0] - mag[:, 1], mag[:, 1] - mag[:, 2]
    no_agn = ~c["agn"] & np.isfinite(w12) & (c["z"] <= z_max)
    sf = no_agn & (c["log_ssfr"] > SF_MIN_LOG_SSFR) & np.isfinite(w23)
    q = no_agn & (c["log_ssfr"] < QUIESCENT_MAX_LOG_SSFR) & np.isfinite(w23)
    rep.points["colours"] = (w23, w12, c["agn"], c["log_ssfr"])
    loci = JARRETT_LOCI
    grp = "Jarrett et al. 2011, 2017"
    for name, key, sel, col in (
        ("W1-W2, no AGN (Vega mag)", "w1w2_no_agn", no_agn, w12),
        ("W2-W3, star-forming (Vega mag)", "w2w3_star_forming", sf, w23),
        ("W2-W3, quiescent (Vega mag)", "w2w3_quiescent", q, w23),
    ):
        rep.add(grp, name, loci[key], _median(col[sel]), tol, sel.sum())


def _mass_to_light(rep, c, z_max, tol):
    mag = c["mag"]
    ok = ~c["agn"] & (c["z"] <= z_max) & np.isfinite(mag[:, 0]) & np.isfinite(mag[:, 1])
    w12 = mag[:, 0] - mag[:, 1]
    dmod = 5.0 * np.log10(luminosity_distance_cm(c["z"]) / 3.0856775814913673e19)
    for group, par, info in (
        ("Jarrett et al. 2023", JARRETT23_ML, False),
        ("Cluver et al. 2014", CLUVER14_ML, True),
    ):
        log_l = -0.4 * (mag[:, 0] - dmod - par["msun_w1"])
        log_m = log_l + par["slope"] * w12 + par["intercept"]
        d = (log_m - c["log_mstar_true"])[ok]
        if not info:
            rep.points["mass"] = (c["log_mstar_true"][ok], log_m[ok])
        relation = "W1 M*/L: M*(W1) - true M* (dex)" + (" (reference)" if info else "")
        rep.add(group, relation, 0.0, _median(d), tol, ok.sum(), informative=info)


def _stern(rep, c, tol_rel, tol_comp):
    mag = c["mag"]
    bright = np.isfinite(mag[:, 1]) & (mag[:, 1] < STERN12["w2_limit"])
    sel = bright & (mag[:, 0] - mag[:, 1] >= STERN12["cut"])
    rel = c["agn"][sel].mean() if sel.any() else np.nan
    strong = bright & c["agn"] & (c["log_lagn"] >= STERN12_MIN_LOG_LAGN)
    comp = sel[strong].mean() if strong.any() else np.nan
    rep.points["stern"] = (c["log_lagn"][bright & c["agn"]], sel[bright & c["agn"]])
    grp = "Stern et al. 2012"
    rep.add(grp, "W1-W2 >= 0.8 reliability", STERN12["reliability"], rel, tol_rel, sel.sum())
    rep.add(
        grp,
        f"W1-W2 >= 0.8 completeness, L_AGN >= 1e{STERN12_MIN_LOG_LAGN:g}",
        STERN12["completeness"],
        comp,
        tol_comp,
        strong.sum(),
    )
    # by AGN type above the X-ray luminosity of Mateos et al. (at any W2: their AGN are X-ray
    # selected); tolerance their larger 1-sigma error
    luminous = c["agn"] & (c["log_lagn"] >= MATEOS12["log_lx_min"] + np.log10(K_BOL_X))
    allsel = np.isfinite(mag[:, 1]) & (mag[:, 0] - mag[:, 1] >= STERN12["cut"])
    for t in (1, 2):
        ref = MATEOS12[f"type{t}"]
        m = luminous & (c["agn_type"] == t)
        frac = allsel[m].mean() if m.any() else np.nan
        relation = f"W1-W2 >= 0.8 completeness, type {t}, L_X >= 1e44 (L_bol/{K_BOL_X:g})"
        rep.add("Mateos et al. 2012", relation, ref["completeness"], frac, ref["error"], m.sum())
    # the same selected on a measured L_X that scatters about L_bol / K_BOL_X: each AGN counts
    # with its probability of passing the cut (N: the expected number selected)
    log_lx = np.where(c["agn"] & np.isfinite(c["log_lagn"]), c["log_lagn"], -np.inf)
    log_lx = log_lx - np.log10(K_BOL_X)  # an AGN without a luminosity is never selected
    chance = ndtr((log_lx - MATEOS12["log_lx_min"]) / L_X_SCATTER_DEX)
    for t in (1, 2):
        w = np.where(c["agn_type"] == t, chance, 0.0)
        frac = float(w @ allsel / w.sum()) if w.sum() > 0 else np.nan
        relation = (
            f"W1-W2 >= 0.8 completeness, type {t}, measured L_X >= 1e44 "
            f"({L_X_SCATTER_DEX:g} dex scatter)"
        )
        ref = MATEOS12[f"type{t}"]
        rep.add(
            "Mateos et al. 2012", relation, ref["completeness"], frac, ref["error"],
            round(float(w.sum())), informative=True,
        )  # fmt: skip


def _agn_incidence(rep, c, tol):
    """log10 of the ratio of the AGN fractions (λ_sBHAR >= 0.01) of the two mass bins; N is
    the number of such AGN in the sparser bin (the ratio's precision)."""
    log_lam = c["log_lagn"] - np.log10(SPECIFIC_EDDINGTON) - c["log_mstar_true"]
    active = c["agn"] & (log_lam >= AIRD12["log_lambda_min"])
    frac, counts = [], []
    for lo, hi in AGN_INCIDENCE_BINS:
        m = (c["log_mstar_true"] >= lo) & (c["log_mstar_true"] < hi)
        frac.append(active[m].mean() if m.any() else np.nan)
        counts.append(int(active[m].sum()))
    rep.points["agn_incidence"] = (AGN_INCIDENCE_BINS, frac)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.log10(frac[1] / frac[0]) if frac[0] > 0 else np.nan
    (a, b), (c_, d) = AGN_INCIDENCE_BINS
    relation = f"AGN fraction lambda_sBHAR >= 0.01: log ratio, log M* {c_}-{d} / {a}-{b} (dex)"
    rep.add("Aird et al. 2012", relation, AIRD12["log_ratio"], ratio, tol, min(counts))


@dataclass(frozen=True)
class Tolerances:
    """Tolerances of :func:`realism_report`; the defaults are issue 11's acceptance values."""

    sfr_offset: float = 0.1
    sfr_scatter: float = 0.05
    colour: float = 0.2
    mass_to_light: float = 0.1
    stern_reliability: float = 0.05
    stern_completeness: float = 0.15
    agn_incidence: float = 0.3
    """dex: a factor 2 between the AGN fractions of the two mass bins, the size of the
    difference between star-forming and quiescent hosts of one mass (Birchall et al. 2023)."""


def realism_report(df, *, z_max=0.07, tolerances=None) -> RealismReport:
    """Compare a simulated survey with the published relations defined in this module.

    Parameters
    ----------
    df : pandas.DataFrame
        The survey's scalar columns (spectra are not needed).
    z_max : float
        Largest redshift of the galaxies entering the luminosity relations.
    tolerances : Tolerances, optional
        Allowed differences; loosen them for small surveys.

    Returns
    -------
    RealismReport
    """
    tol = tolerances or Tolerances()
    c = _columns(df)
    rep = RealismReport()
    _sfr_relations(rep, c, z_max, tol.sfr_offset, tol.sfr_scatter)
    _colour_loci(rep, c, z_max, tol.colour)
    _mass_to_light(rep, c, z_max, tol.mass_to_light)
    _stern(rep, c, tol.stern_reliability, tol.stern_completeness)
    _agn_incidence(rep, c, tol.agn_incidence)
    return rep


def demo_frame(n=200, seed=0):
    """A small synthetic table with the survey's scalar columns (for examples only)."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    logm = rng.uniform(8.5, 11.5, n)
    return pd.DataFrame(
        {
            "z": rng.uniform(0.01, 0.05, n),
            "log_mstar_true": logm,
            "log_sfr_true": logm - 10.0 + 0.3 * rng.standard_normal(n),
            "agn_type_true": np.zeros(n, np.int8),
            "log_lagn_true": np.full(n, np.nan),
            **{f"w{i}_flux_true": 10.0 ** rng.uniform(0, 1, n) for i in range(1, 5)},
        }
    )
