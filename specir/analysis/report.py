"""reStructuredText tables of the analyses' results, written from their JSON outputs.

The documentation page ``docs/drives.rst`` includes what :func:`attribution_rst` and
:func:`sedfit_rst` return (written by ``docs/figures/make_drives.py``), so every number it
shows was written by the code that measured it.
"""

import math

from specir.bands import BAND_NAMES

__all__ = ["VERDICT_SIGMAS", "attribution_rst", "information_rst", "sedfit_rst", "sedfit_verdict"]


def _table(header, rows):
    """A reST grid-free "simple" table from a header and rows of strings."""
    cols = list(zip(header, *rows, strict=True))
    widths = [max(len(str(c)) for c in col) for col in cols]
    rule = "  ".join("=" * w for w in widths)

    def fmt(r):
        return "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()

    return "\n".join([rule, fmt(header), rule, *(fmt(r) for r in rows), rule])


def attribution_rst(report, *, n_top=3):
    """The run summary and, per group and band, the strongest features of the mean's IG.

    Examples
    --------
    >>> rep = {"n": 2, "baseline": "smooth", "n_steps": 8, "max_steps": 16, "bundle": "b",
    ...        "completeness": {"fraction_within_1pct": 1.0, "median_relative_error": 0.001},
    ...        "groups": {"all": {"n": 2, "checked": False, "checks": {},
    ...        "features": {"w3_mean": [{"feature": "Hβ", "wavelength": 4862.0,
    ...                                  "share": 0.1, "kind": "emission"}]}}}}
    >>> print(attribution_rst(rep).splitlines()[-2])
    all    2  no       W3    Hβ (4862 Å, 10.0%)
    >>> attribution_rst({**rep, "bundle_sha256": "78edbb70d5e306b4"}).split(";")[1]
    ' bundle sha256 ``78edbb70d5e3…``'
    """
    comp = report["completeness"]
    sha = report.get("bundle_sha256")
    measured = f"bundle sha256 ``{sha[:12]}…``; " if sha else ""
    lines = [
        f"N = {report['n']} spectra; {measured}baseline ``{report['baseline']}``; "
        f"{report['n_steps']} to {report['max_steps']} integration steps. Completeness: "
        f"{100 * comp['fraction_within_1pct']:.1f} % of spectra within 1 % "
        f"(median relative error {comp['median_relative_error']:.2g}).",
        "",
    ]
    if comp.get("by_output"):
        per = ", ".join(f"{k} {100 * v:.0f} %" for k, v in comp["by_output"].items())
        lines[0] += f" Per output: {per}."
    rows = []
    for group, entry in report["groups"].items():
        feats = entry.get("features", {})
        for b in BAND_NAMES:
            top = feats.get(f"{b}_mean") or []
            if not top:
                continue
            text = "; ".join(
                f"{r['feature']} ({r['wavelength']:.0f} Å, {100 * r['share']:.1f}%)"
                for r in top[:n_top]
            )
            check = entry.get("checks", {}).get(f"{b}_mean")
            checked = "yes" if entry.get("checked") else "no"
            mark = "" if check is None else (" — pass" if check else " — FAIL")
            rows.append([group, str(entry["n"]), checked, b.upper(), text + mark])
    lines.append(_table(["group", "N", "checked", "band", "strongest features (share)"], rows))
    return "\n".join(lines)


def information_rst(report):
    """The cross-validated R² of each band's true colour from each feature family, per class.

    Examples
    --------
    >>> rep = {"information": {"star_forming": {"n": 300, "w1": {"emission": 0.7,
    ...        "absorption": 0.5, "continuum": 0.6, "all": 0.8}}}}
    >>> print(information_rst(rep).splitlines()[3])
    star_forming  300  W1    0.70      0.50        0.60       0.80
    """
    from specir.analysis.information import FAMILIES

    rows = [
        [cls, str(entry["n"]), b.upper(), *(f"{entry[b][f]:.2f}" for f in FAMILIES)]
        for cls, entry in report.get("information", {}).items()
        for b in BAND_NAMES
        if b in entry
    ]
    return _table(["class", "N", "band", *FAMILIES], rows) if rows else "(no simulated truths)"


def _fmt(s, key):
    import math

    if not s.get("n"):
        return "–"
    value = f"{s[key]:+.3f}" if key == "bias" else f"{s[key]:.3f}"
    err = s.get(key + "_err", float("nan"))
    return f"{value} ± {err:.3f}" if math.isfinite(err) else f"{value} (N < 2: no error)"


VERDICT_SIGMAS = 2.0
"""A bias within this many bootstrap errors of 0 counts as consistent with none; a χ²_N
further than this many errors above 1 as overconfident."""


def sedfit_verdict(report):
    """One sentence per method on the control group (``agn_free``, else ``all``): in which bands
    the bias is consistent with zero and in which the method is overconfident.

    Examples
    --------
    >>> s = {"bias": 0.1, "bias_err": 0.02, "chi2_n": 9.0, "chi2_n_err": 2.0}
    >>> ok = {"bias": 0.01, "bias_err": 0.02, "chi2_n": 0.8, "chi2_n_err": 0.2}
    >>> rep = {"groups": {"all": {"n": 5, "stats": {"standard": {"w1": s, "w2": ok}}}}}
    >>> print(sedfit_verdict(rep).split(": ", 1)[1])
    ``standard`` in W2 (not in W1); χ²_N more than 2 errors above 1 (overconfident) in W1.
    """
    group = "agn_free" if "agn_free" in report["groups"] else "all"
    entry = report["groups"][group]
    k = VERDICT_SIGMAS
    parts = []

    def finite(stats, *keys):
        return all(math.isfinite(stats.get(key, math.nan)) for key in keys)

    for method, per_band in entry["stats"].items():
        bands = [b for b in BAND_NAMES if b in per_band]
        scored = [b for b in bands if finite(per_band[b], "bias", "bias_err")]
        ok = [b for b in scored if abs(per_band[b]["bias"]) <= k * per_band[b]["bias_err"]]
        bad = [b for b in scored if b not in ok]
        over = [
            b
            for b in bands
            if finite(per_band[b], "chi2_n", "chi2_n_err")
            and per_band[b]["chi2_n"] - 1 > k * per_band[b]["chi2_n_err"]
        ]

        def names(bs):
            return ", ".join(b.upper() for b in bs) or "no band"

        text = f"``{method}`` in {names(ok)}"
        text += f" (not in {names(bad)})" if bad else ""
        unscored = [b for b in bands if b not in scored]
        text += f" (not measured in {names(unscored)})" if unscored else ""
        text += f"; χ²_N more than {k:g} errors above 1 (overconfident) in {names(over)}"
        parts.append(text)
    head = (
        f"Control group ``{group}`` (N = {entry['n']}), bias within {k:g} bootstrap errors of "
        "zero: "
    )
    return head + ". ".join(parts) + "."


def sedfit_rst(report, *, groups=None):
    """Per group and band: bias, NMAD and χ²_N (± bootstrap errors) of each method, and rates.

    Examples
    --------
    >>> s = {"n": 3, "bias": 0.1, "bias_err": 0.05, "nmad": 0.2, "nmad_err": 0.01,
    ...      "chi2_n": 1.5, "chi2_n_err": 0.3}
    >>> rep = {"n": 3, "reference": "truth", "rates": {"network_spectra_per_second": 100.0,
    ...        "matched": {"fits": 3, "seconds_per_fit": 600.0}},
    ...        "groups": {"all": {"n": 3, "stats": {"matched": {"w1": s}}}}}
    >>> "+0.100 ± 0.050" in sedfit_rst(rep)
    True
    """
    rates = report["rates"]
    parts = [
        f"N = {report['n']} galaxies fitted by every set-up; reference: {report['reference']}."
        f" The network: {rates['network_spectra_per_second']:.0f} spectra per second "
        "(CPU, this machine)."
    ]
    for name, r in rates.items():
        if isinstance(r, dict) and r.get("fits"):
            cpu = r.get("cpu_seconds_per_fit")
            cpu = f", {cpu:.0f} s of CPU" if cpu else ""
            parts.append(
                f" ``{name}``: {r['fits']} fits, {r['seconds_per_fit']:.0f} s wall time per fit"
                f"{cpu} ({3600 / r['seconds_per_fit']:.1f} galaxy-fits per hour per worker)."
            )
    out = ["".join(parts), "", sedfit_verdict(report), ""]
    for group, per_setup in report.get("parameters", {}).items():
        if groups is not None and group not in groups:
            continue
        rows = [
            [setup, name, _fmt(s, "bias"), _fmt(s, "nmad"), _fmt(s, "chi2_n")]
            for setup, per_param in per_setup.items()
            for name, s in per_param.items()
        ]
        out += [f"Fitted parameters against the truth, **{group}** (dex)", ""]
        out += [_table(["method", "parameter", "bias", "NMAD", "χ²_N"], rows), ""]
    out += _drivers_rst(report.get("drivers", {}))
    for group, entry in report["groups"].items():
        if groups is not None and group not in groups:
            continue
        rows = []
        for method, per_band in entry["stats"].items():
            for b in BAND_NAMES:
                if b in per_band:
                    s = per_band[b]
                    rows.append(
                        [method, b.upper(), _fmt(s, "bias"), _fmt(s, "nmad"), _fmt(s, "chi2_n")]
                    )
        out += [f"**{group}** (N = {entry['n']})", ""]
        out += [_table(["method", "band", "bias (mag)", "NMAD (mag)", "χ²_N"], rows), ""]
    return "\n".join(out)


def _drivers_rst(drivers):
    """Tables of ``drivers`` (:func:`specir.analysis.stats.residual_drivers` per set-up, band).

    Examples
    --------
    >>> d = {"n": 76, "intercept": 0.008, "intercept_err": 0.004, "explained": 0.71,
    ...      "slopes": {"av": -1.06}, "slopes_err": {"av": 0.1}}
    >>> "+0.008 ± 0.004" in "\\n".join(_drivers_rst({"matched": {"w1": d}}))
    True
    """
    out = []
    for setup, per_band in drivers.items():
        if not per_band:
            continue
        names = next(iter(per_band.values()))["slopes"]
        head = ["band", "N", "at true parameters (mag)"] + [f"per Δ {k}" for k in names]
        rows = [
            [b.upper(), str(d["n"]), f"{d['intercept']:+.3f} ± {d['intercept_err']:.3f}"]
            + [f"{d['slopes'][k]:+.2f} ± {d['slopes_err'][k]:.2f}" for k in names]
            + [f"{d['explained']:.2f}"]
            if math.isfinite(d["intercept"])
            else [b.upper(), str(d["n"]), "too few galaxies"] + ["–"] * (len(names) + 1)
            for b, d in per_band.items()
        ]
        out += [
            f"``{setup}``, AGN-free: each band's residual (mag) regressed on the fitted-minus-true"
            " parameters (posterior medians; bootstrap errors); the intercept is the mean"
            " residual expected were every parameter fitted at its truth, the last column the"
            " fraction of the residuals' variance the parameter errors explain",
            "",
            _table([*head, "explained"], rows),
            "",
        ]
    return out
