import json
import os

import numpy as np
import pytest

from specir.analysis.sedfit import FitterConfig, fit_data, fitter_config
from specir.analysis.simpriors import simulator_dust
from specir.errors import SpecIRInputError


def test_simulator_dust_relations_match_the_simulator():
    """The matched fitter draws q_PAH, U_min, gamma as specir.sim does (guards a divergence)."""
    from specir.sim.config import SimConfig
    from specir.sim.population import draw_population

    pop = draw_population(4000, np.random.default_rng(5), SimConfig())
    log_ssfr = np.clip(pop["log_sfr_target"] - pop["log_mstar_target"], -13.5, -8.8)
    q, u, g = simulator_dust(pop["oh"], log_ssfr, np.random.default_rng(6))
    for mine, sim in ((q, pop["qpah"]), (np.log10(u), np.log10(pop["umin"])),
                      (np.log10(g), np.log10(pop["gamma"]))):  # fmt: skip
        assert abs(np.mean(mine) - np.mean(sim)) < 0.05 * np.std(sim) + 0.02
        assert abs(np.std(mine) / np.std(sim) - 1) < 0.08


def test_matched_model_at_the_true_parameters_is_the_simulator(tmp_path):
    """The matched set-up's model, given a simulated galaxy's true parameters, gives the
    simulator's W1-W4 (guards every divergence of physics, not only the dust relations: the
    birth-cloud factor eta once stayed at 2 after the simulator moved to 1 / mu)."""
    import warnings

    from specir.analysis import sedfit
    from specir.sim.agb import CircumstellarDust
    from specir.sim.config import SimConfig
    from specir.sim.sed import air_to_vacuum
    from specir.sim.survey import _observed_galaxies

    kept = _observed_galaxies(6, np.random.default_rng(11), SimConfig())
    cfg = fitter_config("matched")
    bagpipes = sedfit._bagpipes(cfg)
    checked = 0
    for p, row, *_ in kept:
        if p["agn_type"] > 0:  # the fitter has no AGN
            continue
        params = {"age": p["age"], "tau": p["tau"], "massformed": p["log_massformed"],
                  "metallicity": p["z_star"], "Av": p["av"], "veldisp": p["veldisp"],
                  "logU": p["log_u"], "nebular_metallicity": p["z_gas"],
                  "dust_emission": (p["qpah"], p["umin"], p["gamma"])}  # fmt: skip
        comp = sedfit.components(cfg, p["z"], params)
        comp["delayed"].pop("tau_prior")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = bagpipes.model_galaxy(comp, filt_list=sedfit._filter_files(sedfit._WISE))
        agb = CircumstellarDust(air_to_vacuum(model.wavelengths))
        wise = sedfit.model_wise(model, cfg, p["z"], agb, p["agb_ratio"])
        truth = np.array([row[f"w{i}_flux_true"] for i in range(1, 5)])
        np.testing.assert_allclose(-2.5 * np.log10(wise / truth), 0.0, atol=0.02)
        checked += 1
    assert checked >= 2


def test_fitter_config_from_toml(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('name = "mine"\nsfh = "exponential"\nfixed_dust = [3.0, 2.0, 0.02]\n')
    cfg = fitter_config(str(path))
    assert cfg == FitterConfig("mine", sfh="exponential", fixed_dust=(3.0, 2.0, 0.02))
    path.write_text('name = "mine"\nsfh = "lognormal"\n')
    with pytest.raises(SpecIRInputError, match="sfh"):
        fitter_config(str(path))
    path.write_text('name = "mine"\nnlive = 3\n')
    with pytest.raises(SpecIRInputError, match="n_live"):
        fitter_config(str(path))


def test_fit_data_scales_the_fibre_spectrum_to_the_total_light(small_survey):
    """The aperture scale is 1 / fibre fraction (up to the simulated calibration errors)."""
    import lsdb

    df = lsdb.read_hats(str(small_survey)).compute().iloc[:10]
    for _, row in df.iterrows():
        ivar = np.asarray(row["ivar"]) * (1 - np.asarray(row["mask"]))
        ugriz = [row[f"modelmag_{b}"] for b in "ugriz"]
        spec, phot, scale = fit_data(np.asarray(row["flux"]), ivar, ugriz, bin=12)
        assert scale * row["fiber_fraction_true"] == pytest.approx(1.0, abs=0.15)
        assert spec.shape == (3921 // 12, 3) and np.all(spec[:, 2] > 0)
        assert phot[2, 0] == pytest.approx(3631e6 * 10 ** (-0.4 * ugriz[2]))


def test_fit_data_bins_keep_the_flux_of_lines_whose_pixels_are_noisier():
    """A bin is the plain mean of its pixels, as bagpipes averages its model into it. Weighted
    by inverse variance, the emission-line pixels (noisier: the variance grows with the flux)
    counted less, and the fits saw lines 2-3 times weaker than the simulator made them."""
    from specir.grid import grid_wavelength

    wave = grid_wavelength()
    flux = 1.0 + 50.0 * np.exp(-0.5 * ((wave - 6564.61) / 2.0) ** 2)
    ivar = 1.0 / (0.01 * (flux + 1.0))  # photon noise of object and sky
    ivar[100] = 0.0  # a masked pixel is filled, not dropped
    spec, _, _ = fit_data(flux, ivar, [18.0, 17.0, 16.5, 16.2, 16.0], bin=12)
    plain, _, _ = fit_data(flux, np.ones_like(flux), [18.0, 17.0, 16.5, 16.2, 16.0], bin=12)
    np.testing.assert_allclose(spec[:, 1], plain[:, 1], rtol=1e-6)
    i = np.argmin(np.abs(spec[:, 0] - 6562.8))
    line = flux[i * 12 : i * 12 + 12]
    assert spec[i, 1] / spec[0, 1] == pytest.approx(line.mean(), rel=1e-6)
    var = 1.0 / ivar[i * 12 : i * 12 + 12]
    assert spec[i, 2] / spec[0, 1] == pytest.approx(np.sqrt(var.sum()) / 12, rel=1e-6)


def test_fit_data_hands_bagpipes_air_wavelengths():
    """bagpipes' models (BC03, its line list: Hα at 6562.80 Å) are in air; the grid is in
    vacuum. Handed vacuum wavelengths, every line sits 83 km/s off the model's, and the fits
    broaden their velocity dispersion to reach it."""
    from specir.grid import grid_wavelength
    from specir.sim.sed import air_to_vacuum

    wave = grid_wavelength()
    flux = 1.0 + np.exp(-0.5 * ((wave - 6564.61) / 2.0) ** 2)  # Hα at its vacuum wavelength
    spec, _, _ = fit_data(flux, np.ones_like(wave), [18.0, 17.0, 16.5, 16.2, 16.0], bin=1)
    np.testing.assert_allclose(air_to_vacuum(spec[:, 0]), wave, rtol=1e-8)
    assert spec[np.argmax(spec[:, 1]), 0] == pytest.approx(6562.80, abs=0.8)


def test_sedfit_command_fits_scores_and_resumes(small_survey, small_survey_frame, tmp_path):
    """Both set-ups on one galaxy with short sampler settings; a lost result is redone alone
    and comes back the same (the sampler is seeded by the galaxy id); the matched fit recovers
    the stellar mass."""
    from specir.scripts.main import main

    out = tmp_path / "fits"
    argv = ["sedfit", str(small_survey), "--out", str(out), "--n", "1"]
    argv += ["--n-live", "30", "--n-eff", "30", "--n-posterior", "8"]
    assert main(argv) == 0
    rep = json.loads((out / "sedfit.json").read_text())
    assert rep["n"] == 1 and rep["reference"].startswith("simulated truth")
    stats = rep["groups"]["all"]["stats"]
    assert set(stats) == {"matched", "standard", "network"}
    for method in stats.values():
        assert np.isfinite(method["w3"]["bias"]) and method["w3"]["n"] == 1
    files = sorted((out / "fits").glob("*/*.json"))
    assert len(files) == 2
    first = json.loads(files[0].read_text())
    assert len(first["w_mjy"]) == 8 and first["n_like"] > 0
    post = first["posterior"]  # the samples behind w_mjy, by name
    assert post["names"] == list(first["params"])
    assert np.shape(post["samples"]) == (8, len(post["names"]))
    matched = json.loads((out / "fits" / "matched" / files[0].name).read_text())
    truth = small_survey_frame.set_index("id").loc[matched["id"], "log_mstar_true"]
    assert abs(np.median(matched["log_mstar"]) - truth) < 0.3
    # the fitted mass is scored against the truth: the same residual as above
    scored = rep["parameters"]["all"]["matched"]["log_mstar"]
    assert scored["bias"] == pytest.approx(np.median(matched["log_mstar"]) - truth)
    assert set(rep["parameters"]["all"]) == {"matched", "standard"}
    # attenuation and the stellar (not the nebular) metallicity, read from the posterior
    names, samples = matched["posterior"]["names"], np.asarray(matched["posterior"]["samples"])
    truth = small_survey_frame.set_index("id").loc[matched["id"]]
    av = np.median(samples[:, names.index("dust:Av")]) - truth["av_true"]
    stellar = np.log10(samples[:, names.index("delayed:metallicity")])
    logz = np.median(stellar) - np.log10(truth["metallicity_true"])
    scored = rep["parameters"]["all"]["matched"]
    assert scored["av"]["bias"] == pytest.approx(av)
    assert scored["log_metallicity"]["bias"] == pytest.approx(logz)
    mtimes = {f: f.stat().st_mtime_ns for f in files}
    os.remove(files[0])
    assert main(argv) == 0
    assert json.loads(files[0].read_text())["w_mjy"] == first["w_mjy"]
    assert all(f.stat().st_mtime_ns == t for f, t in mtimes.items() if f != files[0])
    # a fit stored with other settings (a set-up corrected since) is redone, not scored
    stale = json.loads(files[1].read_text())
    stale["config"]["eta"] = 2.0
    files[1].write_text(json.dumps(stale))
    assert main([*argv, "--score-only"]) == 2  # the only galaxy now lacks a valid fit: named
    mtimes = {f: f.stat().st_mtime_ns for f in files}
    assert main(argv) == 0
    assert json.loads(files[1].read_text())["config"]["eta"] != 2.0
    assert files[0].stat().st_mtime_ns == mtimes[files[0]]


def test_matched_priors_are_the_simulators_population_standard_stays_flat():
    from specir.analysis import sedfit
    from specir.analysis.simpriors import simulator_metallicity_prior
    from specir.sim.config import SimConfig
    from specir.sim.population import age_support, draw_population

    matched = sedfit.components(fitter_config("matched"), 0.1, {})["delayed"]
    standard = sedfit.components(fitter_config("standard"), 0.1, {})["exponential"]
    assert matched["age"] == pytest.approx(age_support(0.1))
    assert standard["age"][0] == pytest.approx(0.05)
    assert matched["metallicity_prior"] == "Gaussian" and "metallicity_prior" not in standard
    # every drawn galaxy lies inside the matched age prior; the Z prior has its spread
    pop = draw_population(3000, np.random.default_rng(8), SimConfig())
    limits = np.array([age_support(z) for z in pop["z"]])
    assert np.all((pop["age"] >= limits[:, 0]) & (pop["age"] <= limits[:, 1]))
    mu, sd = simulator_metallicity_prior()
    assert mu == pytest.approx(np.mean(pop["z_star"]), abs=0.05)
    assert sd == pytest.approx(np.std(pop["z_star"]), rel=0.1)
    assert fitter_config("matched").agb_dust and not fitter_config("standard").agb_dust


@pytest.mark.parametrize(("key", "value"), [("population_priors", '"false"'), ("r_spec", "0")])
def test_fitter_config_refuses_a_string_bool_and_a_bad_resolution(tmp_path, key, value):
    from specir.errors import SpecIRInputError

    path = tmp_path / "bad.toml"
    path.write_text(f'name = "x"\n{key} = {value}\n')
    with pytest.raises(SpecIRInputError, match=key):
        fitter_config(str(path))


def test_posterior_parameters_are_read_by_name_never_guessed():
    """A fit without stored mass samples yields no mass (not another column's samples); the
    stellar metallicity is the SFH's column, never the nebular one; a non-positive one is NaN."""
    from specir.analysis.sedrun import _samples

    post = {"names": ["nebular:metallicity", "dust:Av", "delayed:metallicity"]}
    post["samples"] = [[2.0, 0.3, 1.0], [2.0, 0.4, 0.0]]
    rec = {"posterior": post}
    assert _samples(rec, "log_mstar").size == 0
    assert _samples(rec, "av").tolist() == [0.3, 0.4]
    logz = _samples(rec, "log_metallicity")
    assert logz[0] == 0.0 and np.isnan(logz[1])
