"""The docs tables and verdicts of the analyses (``specir.analysis.report``)."""

from specir.analysis.report import sedfit_rst, sedfit_verdict


def _stats(bias, bias_err, chi2, chi2_err):
    return {"n": 100, "bias": bias, "bias_err": bias_err, "nmad": 0.1, "nmad_err": 0.01,
            "chi2_n": chi2, "chi2_n_err": chi2_err}  # fmt: skip


def _report():
    good = _stats(0.01, 0.01, 0.9, 0.1)
    matched = {"w1": good, "w2": good, "w3": _stats(0.05, 0.01, 1.1, 0.1), "w4": good}
    standard = {b: _stats(0.3, 0.05, 20.0, 3.0) for b in ("w1", "w2", "w3", "w4")}
    biased_all = {"matched": {b: _stats(1.0, 0.1, 9.0, 1.0) for b in matched}}
    return {
        "n": 100,
        "reference": "simulated truth",
        "rates": {"network_spectra_per_second": 500.0},
        "groups": {
            "all": {"n": 100, "stats": biased_all},
            "agn_free": {"n": 80, "stats": {"matched": matched, "standard": standard}},
        },
    }


def test_the_verdict_reads_the_control_group_and_names_each_failing_band():
    text = sedfit_verdict(_report())
    assert "``agn_free`` (N = 80)" in text  # the AGN-free control, not all galaxies
    matched, standard = text.split(". ``")
    assert "in W1, W2, W4 (not in W3)" in matched  # W3: 0.05 is 5 bootstrap errors away
    assert matched.endswith("(overconfident) in no band")
    assert "standard`` in no band (not in W1, W2, W3, W4)" in standard
    assert standard.endswith("(overconfident) in W1, W2, W3, W4.")


def test_without_agn_truths_the_control_is_all_galaxies():
    rep = _report()
    del rep["groups"]["agn_free"]
    text = sedfit_verdict(rep)
    assert "``all`` (N = 100)" in text and "(not in W1, W2, W3, W4)" in text


def test_the_page_carries_the_verdict():
    page = sedfit_rst(_report())
    assert sedfit_verdict(_report()) in page
    assert "**agn_free** (N = 80)" in page


def test_a_band_without_a_measure_is_named_as_such_not_as_biased():
    rep = _report()
    nan = _stats(float("nan"), float("nan"), float("nan"), float("nan"))
    rep["groups"]["agn_free"]["stats"]["matched"]["w4"] = nan  # e.g. no W4 detections
    matched = sedfit_verdict(rep).split(". ``")[0]
    assert "in W1, W2 (not in W3) (not measured in W4)" in matched
    assert matched.endswith("(overconfident) in no band")


def test_the_page_shows_the_fitted_parameters_against_the_truth():
    rep = _report()
    s = {"n": 76, "bias": -0.008, "bias_err": 0.005, "nmad": 0.05, "nmad_err": 0.01}
    rep["parameters"] = {"agn_free": {"matched": {"log_mstar": {**s, "chi2_n": 0.9}}}}
    text = sedfit_rst(rep)
    assert "Fitted parameters against the truth, **agn_free**" in text
    assert "log_mstar" in text and "-0.008 ± 0.005" in text


def test_the_page_shows_what_the_parameter_errors_explain():
    rep = _report()
    d = {"n": 76, "intercept": 0.008, "intercept_err": 0.004, "explained": 0.7}
    d |= {"slopes": {"av": -1.04, "log_metallicity": -0.48}}
    d["slopes_err"] = {"av": 0.1, "log_metallicity": 0.04}
    rep["drivers"] = {"matched": {"w1": d}}
    text = sedfit_rst(rep)
    assert "``matched``, AGN-free: each band's residual" in text
    row = next(line for line in text.splitlines() if line.split()[:2] == ["W1", "76"])
    assert "+0.008 ± 0.004" in row and "-1.04 ± 0.10" in row and "-0.48 ± 0.04" in row
    assert row.rstrip().endswith("0.70")


def test_too_few_galaxies_for_the_regression_say_so_instead_of_nan():
    rep = _report()
    d = {"n": 3, "intercept": float("nan"), "intercept_err": float("nan")}
    d |= {"explained": float("nan"), "slopes": {"av": float("nan")}}
    d["slopes_err"] = dict(d["slopes"])
    rep["drivers"] = {"matched": {"w1": d}, "standard": {}}
    text = sedfit_rst(rep)
    row = next(line for line in text.splitlines() if line.split()[:2] == ["W1", "3"])
    assert "too few galaxies" in row and "nan" not in row
