"""The training loop (``specir.fitting``): the censored likelihood, validation through the one
batched forward pass, early stopping.

MECHANICS CHECK, NOT A SCIENCE CHECK where the fixture catalog is used (tests/fixture_survey.py).
"""

import numpy as np
import pytest
import torch

from specir.dataset import targets_from
from specir.fitting import SPECTRUM_INPUTS, standardise_from, validation_loss
from specir.likelihood import ir_loss, low_snr_nll
from specir.model import SpecIRNet


def _batch(mag, err, det, up):
    n = len(mag)
    nan = torch.full((n,), float("nan"))
    return {
        "mag": torch.tensor(mag).reshape(n, 1).repeat(1, 4),
        "mag_err": torch.tensor(err).reshape(n, 1).repeat(1, 4),
        "detected": torch.tensor(det).reshape(n, 1).repeat(1, 4),
        "upper": torch.tensor(up).reshape(n, 1).repeat(1, 4),
        "log_lagn_true": nan,
        "agn_visible_true": nan,
        "q_pah_true": nan,
    }


def _out(mu, logsig=-2.0):
    mu = torch.tensor(mu, requires_grad=True)
    n = len(mu)
    return mu, {"mag_mu": mu.reshape(n, 1).repeat(1, 4), "mag_logsig": torch.full((n, 4), logsig)}


def test_censored_loss_pushes_predictions_below_the_limit():
    # upper limit at 15 mag: a prediction brighter than the limit (14) is pushed fainter
    mu, out = _out([14.0])
    loss, _ = ir_loss(out, _batch([15.0], [float("nan")], [False], [True]))
    loss.backward()
    assert mu.grad.item() < 0  # gradient descent increases mu: fainter, below the flux limit
    # well below the limit the censored term costs almost nothing and barely pulls ...
    mu2, out2 = _out([17.0])
    loss2, _ = ir_loss(out2, _batch([15.0], [float("nan")], [False], [True]))
    loss2.backward()
    assert loss2.item() < 0.01 and abs(mu2.grad.item()) < 0.05
    # ... whereas treating the limit as a detection would pull it back to 15 mag
    mu3, out3 = _out([17.0])
    loss3, _ = ir_loss(out3, _batch([15.0], [0.1], [True], [False]))
    loss3.backward()
    assert loss3.item() > 10 * loss2.item() and mu3.grad.item() > 0


def test_detection_loss_includes_observed_error():
    _, out = _out([15.5], logsig=np.log(1e-3))
    tight, _ = ir_loss(out, _batch([15.0], [0.01], [True], [False]))
    _, out = _out([15.5], logsig=np.log(1e-3))
    loose, _ = ir_loss(out, _batch([15.0], [0.5], [True], [False]))
    # sigma_tot = sqrt(sig_pred^2 + sig_obs^2): a large observed error forgives the residual
    assert loose.item() < tight.item()
    expected = 0.5 * (np.log(2 * np.pi * (0.5**2 + 1e-6)) + 0.25 / (0.5**2 + 1e-6))
    assert loose.item() == pytest.approx(expected, rel=1e-5)


def test_validation_loss_matches_the_loss_of_one_direct_pass(
    fixture_arrays, train_config, tmp_path
):
    cfg = train_config(tmp_path / "x")
    torch.manual_seed(0)
    net = SpecIRNet(cfg.model).eval()
    idx = np.arange(50)
    masks = targets_from(fixture_arrays, snr_detect=cfg.snr_detect)
    standardise_from(net, fixture_arrays, masks[0], idx)
    batch = {
        k: torch.as_tensor(fixture_arrays[k][idx], dtype=torch.float32)
        for k in (
            *SPECTRUM_INPUTS,
            "mag",
            "mag_err",
            "snr",
            "log_lagn_true",
            "agn_visible_true",
            "q_pah_true",
        )
    }
    batch["detected"], batch["upper"] = (torch.as_tensor(m[idx]) for m in masks)
    with torch.inference_mode():
        expected, _ = ir_loss(net(*(batch[k] for k in SPECTRUM_INPUTS)), batch)
    got = validation_loss(net, fixture_arrays, idx, masks, cfg)
    assert got == pytest.approx(float(expected), rel=1e-5)


def test_early_stopping_keeps_the_best_epochs_weights(train_config, tmp_path):
    from specir.fitting import _Run

    cfg = train_config(tmp_path / "x", epochs=10, patience=2)
    torch.manual_seed(0)
    net = SpecIRNet(cfg.model)
    run = _Run(net, cfg)
    weights = []
    for val in (3.0, 2.0, 2.5, 1.9, 2.2, 2.4):
        with torch.no_grad():
            net.head_mag[0].bias.add_(1.0)  # a visible change per epoch
        weights.append(net.head_mag[0].bias.clone())
        run.record(train_loss=0.0, val_loss=val)
        if not run.running:
            break
    st = run.state
    assert st["epoch"] == 6 and st["best_epoch"] == 4 and st["bad_epochs"] == 2
    assert [h["val"] for h in st["history"]] == [3.0, 2.0, 2.5, 1.9, 2.2, 2.4]
    assert torch.equal(st["best_state"]["head_mag.0.bias"], weights[3])


def test_student_t_loss_is_the_t_density_with_the_predicted_variance():
    from scipy import stats

    sig_pred, err, dof = 0.2, 0.1, 5.0
    _, out = _out([15.4], logsig=np.log(sig_pred))
    loss, _ = ir_loss(
        out, _batch([15.0], [err], [True], [False]), likelihood="student_t", student_dof=dof
    )
    var = sig_pred**2 + err**2  # the reported sigma stays the standard deviation
    scale = np.sqrt(var * (dof - 2) / dof)
    expect = -stats.t.logpdf(0.4, dof, scale=scale)
    assert loss.item() == pytest.approx(expect, rel=1e-5)
    assert stats.t.std(dof, scale=scale) == pytest.approx(np.sqrt(var))


def test_student_t_loss_forgives_an_outlier_more_than_the_gaussian():
    def loss(resid, likelihood):
        _, out = _out([15.0 + resid], logsig=np.log(0.1))
        batch = _batch([15.0], [0.0], [True], [False])
        return ir_loss(out, batch, likelihood=likelihood)[0].item()

    # ten sigma off, the t (5 degrees of freedom) costs a fifth of the Gaussian's 50
    assert loss(1.0, "student_t") - loss(0.0, "student_t") < 0.25 * (
        loss(1.0, "gaussian") - loss(0.0, "gaussian")
    )


def _faint_survey(mu0, n=4000, scatter=0.3, seed=3):
    """AllWISE-style measurements of n galaxies of magnitude N(mu0, scatter); noise σ_f = 1."""
    rng = np.random.default_rng(seed)
    f = 10 ** (-0.4 * (mu0 + scatter * rng.standard_normal(n))) + rng.standard_normal(n)
    det = f >= 2.0  # S/N = f
    mag = np.where(det, -2.5 * np.log10(np.where(det, f, 1)), -2.5 * np.log10(f.clip(0) + 2))
    err = np.where(det, 2.5 / np.log(10) / np.where(det, f, 1), np.nan)

    def col(a):
        return torch.tensor(a, dtype=torch.float32).reshape(n, 1).repeat(1, 4)

    batch = _batch(mag, err, det, ~det)
    batch["snr"] = col(f)
    return batch, det.mean()


def _best_mu(batch, mu0, sigma, **options):
    n = batch["mag"].shape[0]
    grid = np.arange(mu0 - 1.5, mu0 + 1.5, 0.02)
    loss = [
        float(
            ir_loss(
                {"mag_mu": torch.full((n, 4), g), "mag_logsig": torch.full((n, 4), np.log(sigma))},
                batch,
                **options,
            )[0]
        )
        for g in grid
    ]
    return grid[int(np.argmin(loss))]


@pytest.mark.parametrize("mu0", [0.0, 1.5])
def test_flux_likelihood_recovers_faint_galaxies_the_censored_one_makes_too_bright(mu0):
    # mostly non-detections (18% and 4% detected): the flux likelihood recovers the true mean
    # magnitude; the censored one only asks for "fainter than the limit" and lands bright
    batch, detected = _faint_survey(mu0)
    assert detected < 0.2
    assert abs(_best_mu(batch, mu0, 0.3) - mu0) < 0.1
    assert _best_mu(batch, mu0, 0.3, nondetections="censored") - mu0 < -0.3


def test_low_snr_nll_is_the_integral_over_the_predicted_magnitudes():
    m = np.linspace(-10, 15, 200001)
    for mu, sigma, mag, err, snr in [
        (1.0, 0.3, 0.5, float("nan"), 0.3),  # upper limit of a weak positive flux
        (0.0, 0.6, 0.7, float("nan"), -1.2),  # negative flux: limit at 2σ
        (-0.4, 0.5, -0.8, 0.3, 3.6),  # a detection at S/N 3.6
        (-1.5, 0.1, 0.4, float("nan"), 1.0),  # predicted far too bright for the limit
    ]:
        sig_f = 1 / snr if np.isfinite(err) else 1 / (max(snr, 0) + 2)
        f_obs = 1.0 if np.isfinite(err) else snr * sig_f
        prior = np.exp(-0.5 * ((m - mu) / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi))
        f_true = 10 ** (-0.4 * (m - mag))
        like = np.exp(-0.5 * ((f_obs - f_true) / sig_f) ** 2) / (sig_f * np.sqrt(2 * np.pi))
        expected = -np.log(np.trapezoid(prior * like, m))
        got = low_snr_nll(
            *(torch.tensor(v, dtype=torch.float64) for v in (mu, sigma, mag, err, snr))
        )
        assert float(got) == pytest.approx(expected, abs=1e-3)
    nan = torch.tensor(float("nan"))
    assert torch.isnan(
        low_snr_nll(torch.tensor(1.0), torch.tensor(0.3), torch.tensor(0.5), nan, nan)
    )


def test_flux_likelihood_leaves_bright_detections_to_the_magnitude_gaussian():
    _, out = _out([15.5], logsig=np.log(0.1))
    batch = _batch([15.0], [0.05], [True], [False])
    plain, _ = ir_loss(out, batch)
    batch["snr"] = torch.full((1, 4), 21.7)  # S/N of a 0.05 mag error
    assert ir_loss(out, batch)[0].item() == pytest.approx(plain.item())


def test_broken_snr_values_give_finite_gradients_not_nan_weights():
    # NaN, ±inf and negative S/N (a broken catalog) fall back or stay finite: one NaN
    # gradient would poison every weight of the network
    snr = [float("nan"), float("inf"), -float("inf"), -5.0, 0.0, 3.0]
    n = len(snr)
    mu, out = _out([15.0] * n, logsig=np.log(0.3))
    err = [float("nan")] * 5 + [0.36]
    batch = _batch([15.5] * n, err, [False] * 5 + [True], [True] * 5 + [False])
    batch["snr"] = torch.tensor(snr).reshape(n, 1).repeat(1, 4)
    loss, _ = ir_loss(out, batch)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(mu.grad).all()
