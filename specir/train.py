"""``specir train CONFIG``: train a model bundle from a HATS catalog of spectra and WISE photometry.

The configuration is a TOML file read into the frozen dataclass :class:`TrainConfig`. Only the
catalog path and the column mapping depend on the data, so a real SDSS × AllWISE crossmatch
trains with the same code as the simulated survey (truth columns are optional; the heads without
truths stay untrained and predict NaN). See ``docs/training.rst``.

Likelihood (per band, in Vega magnitudes):

- detections (``wNsnr >= snr_detect`` and finite ``wNsigmpro``): Gaussian negative
  log-likelihood with ``σ_tot² = σ_pred² + wNsigmpro²``;
- non-detections (AllWISE's ``wNmpro`` is then the 95% upper-limit magnitude ``m_lim``):
  censored likelihood ``-log Φ((μ - m_lim) / σ_tot)`` with
  ``σ_tot² = σ_pred² + censor_sigma_mag²`` (default 0.543 mag, the error of a S/N = 2 source);
- a missing ``wNmpro`` is left out.

log L_AGN is fitted (Gaussian NLL) only where an AGN exists; AGN presence has its own logit
(binary cross-entropy on ``agn_type_true > 0``). q_PAH has a Gaussian NLL.

The train/validation/test split is by HEALPix pixel of order ``split_order`` (from the HATS
``_healpix_29`` spatial index, or from ra/dec), hashed with the seed: no pixel lies in two splits.
"""

import dataclasses
import hashlib
import json
import logging
import math
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from specir.dataset import (
    ColumnMap,
    catalog_properties,
    read_catalog_arrays,
    split_labels,
    targets_from,
)
from specir.errors import SpecIRInputError
from specir.model import ModelConfig

__all__ = [
    "ColumnMap",
    "TrainConfig",
    "ir_loss",
    "load_config",
    "read_catalog_arrays",
    "split_labels",
    "train",
]

log = logging.getLogger(__name__)
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class TrainConfig:
    """Everything ``specir train`` needs; read from TOML with :func:`load_config`.

    Examples
    --------
    >>> cfg = TrainConfig(catalog="cat", output="bundle", epochs=3)
    >>> cfg.columns.mag[0], cfg.model.latent_dim, cfg.split_fractions
    ('w1mpro', 8, (0.8, 0.1, 0.1))
    >>> TrainConfig(catalog="cat", output="b", lr=-1)
    Traceback (most recent call last):
    ...
    specir.errors.SpecIRInputError: lr: must be positive (got -1). Fix: ...
    """

    catalog: str
    output: str
    columns: ColumnMap = field(default_factory=ColumnMap)
    model: ModelConfig = field(default_factory=ModelConfig)
    epochs: int = 30
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 1e-5
    patience: int = 5
    seed: int = 42
    device: str = "auto"
    threads: int = 0
    split_order: int = 5
    split_fractions: tuple = (0.8, 0.1, 0.1)
    snr_detect: float = 2.0
    censor_sigma_mag: float = 0.543
    z_range: tuple = (0.01, 0.35)
    max_rows: int = 0
    checkpoint_dir: str = ""
    ood_percentile: float = 99.9
    total_mag_dropout: float = 0.3
    training_data: dict = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "split_fractions", tuple(float(f) for f in self.split_fractions))
        object.__setattr__(self, "z_range", tuple(float(v) for v in self.z_range))
        for name in ("epochs", "batch_size", "lr", "patience"):
            if not getattr(self, name) > 0:
                raise SpecIRInputError(
                    name,
                    f"must be positive (got {getattr(self, name)})",
                    f"set {name} > 0 in the config",
                )
        if len(self.split_fractions) != 3 or not math.isclose(sum(self.split_fractions), 1.0):
            raise SpecIRInputError(
                "split_fractions",
                f"is {self.split_fractions}",
                "give three fractions (train, val, test) summing to 1",
            )
        if not 0 <= self.split_order <= 29:
            raise SpecIRInputError("split_order", f"is {self.split_order}", "use 0..29")
        if len(self.z_range) != 2 or not self.z_range[0] < self.z_range[1]:
            raise SpecIRInputError("z_range", f"is {self.z_range}", "give [z_min, z_max]")
        if not 0.0 <= self.total_mag_dropout < 1.0:
            raise SpecIRInputError(
                "total_mag_dropout", f"is {self.total_mag_dropout}", "use 0 <= value < 1"
            )

    @property
    def checkpoints(self):
        return Path(
            self.checkpoint_dir
            or Path(self.output).with_name(Path(self.output).name + ".checkpoints")
        )

    def to_dict(self):
        d = dataclasses.asdict(self)
        d["model"] = self.model.to_dict()
        return json.loads(json.dumps(d, default=list))

    def fingerprint(self):
        """Hash of everything that changes the result (a resumed run must match it)."""
        d = self.to_dict()
        for k in ("output", "checkpoint_dir", "device", "threads", "training_data"):
            d.pop(k)
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


def load_config(path, **overrides):
    """Read a TOML training configuration into a :class:`TrainConfig`.

    Relative ``catalog``/``output``/``checkpoint_dir`` paths are relative to the TOML file.
    Unknown keys are refused.
    """
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SpecIRInputError(
            "config", f"cannot read {path} ({exc})", "pass a valid TOML file"
        ) from exc
    raw.update(overrides)
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = set(raw) - known
    if unknown:
        raise SpecIRInputError(
            "config", f"unknown keys {sorted(unknown)}", f"use only {sorted(known)}"
        )
    for sub, cls in (("columns", ColumnMap), ("model", ModelConfig)):
        table = raw.get(sub, {})
        allowed = {f.name for f in dataclasses.fields(cls)}
        if set(table) - allowed:
            raise SpecIRInputError(
                f"config [{sub}]",
                f"unknown keys {sorted(set(table) - allowed)}",
                f"use only {sorted(allowed)}",
            )
        raw[sub] = cls(**table)
    for key in ("catalog", "output", "checkpoint_dir"):
        if raw.get(key) and not Path(raw[key]).is_absolute():
            raw[key] = str((path.parent / raw[key]).resolve())
    if "catalog" not in raw or "output" not in raw:
        raise SpecIRInputError(
            "config", "needs 'catalog' and 'output'", "add catalog = PATH and output = BUNDLE_DIR"
        )
    return TrainConfig(**raw)


# ---------------------------------------------------------------- loss
def ir_loss(out, batch, *, censor_sigma_mag=0.543):
    """Negative log-likelihood of a batch; returns (total, dict of components).

    ``batch`` holds tensors ``mag``, ``mag_err``, ``detected``, ``upper`` (n, 4),
    ``log_lagn_true``, ``agn_type_true``, ``q_pah_true`` (n,; NaN where unknown).
    """
    import torch
    import torch.nn.functional as F

    mu, logsig = out["mag_mu"], out["mag_logsig"]
    var_pred = torch.exp(2 * logsig)
    det, up = batch["detected"], batch["upper"]
    obs = torch.nan_to_num(batch["mag"])
    err = torch.nan_to_num(batch["mag_err"])
    var_det = var_pred + err**2
    nll_det = 0.5 * (torch.log(2 * math.pi * var_det) + (mu - obs) ** 2 / var_det)
    sig_up = torch.sqrt(var_pred + censor_sigma_mag**2)
    nll_up = -torch.special.log_ndtr((mu - obs) / sig_up)
    n_mag = (det.sum() + up.sum()).clamp_min(1)
    loss_mag = (torch.where(det, nll_det, 0).sum() + torch.where(up, nll_up, 0).sum()) / n_mag
    parts = {"mag": loss_mag}
    total = loss_mag

    agn_known = torch.isfinite(batch["agn_type_true"])
    if agn_known.any():
        is_agn = (torch.nan_to_num(batch["agn_type_true"]) > 0).to(mu.dtype)
        bce = F.binary_cross_entropy_with_logits(out["agn_logit"], is_agn, reduction="none")
        parts["agn_class"] = bce[agn_known].mean()
        total = total + parts["agn_class"]
    for key, mname, sname in (
        ("log_lagn_true", "lagn_mu", "lagn_logsig"),
        ("q_pah_true", "qpah_mu", "qpah_logsig"),
    ):
        y = batch[key]
        ok = torch.isfinite(y)
        if key == "log_lagn_true":
            ok = ok & (torch.nan_to_num(batch["agn_type_true"], nan=1.0) > 0)
        if ok.any():
            m, ls = out[mname][ok], out[sname][ok]
            nll = ls + 0.5 * math.log(2 * math.pi) + 0.5 * ((y[ok] - m) / torch.exp(ls)) ** 2
            parts[key] = nll.mean()
            total = total + parts[key]
    return total, parts


# ---------------------------------------------------------------- training
def _tensor_batch(data, idx, detected, upper):
    import torch

    def f(a):
        return torch.as_tensor(np.ascontiguousarray(a[idx]), dtype=torch.float32)

    return {
        "flux": f(data["flux"]),
        "valid": f(data["valid"]),
        "z": f(data["z"]),
        "norm": f(data["norm"]),
        "r_mag": f(data["r_mag"]),
        "mag": f(data["mag"]),
        "mag_err": f(data["mag_err"]),
        "detected": torch.as_tensor(detected[idx]),
        "upper": torch.as_tensor(upper[idx]),
        "log_lagn_true": f(data["log_lagn_true"]),
        "agn_type_true": f(data["agn_type_true"]),
        "q_pah_true": f(data["q_pah_true"]),
        **({"phot": f(data["phot"])} if "phot" in data else {}),
    }


def spectrum_forward(model, b, device):
    return model(*(b[k].to(device) for k in ("flux", "valid", "z", "norm", "r_mag")))


def standardise_from(model, data, detected, train_idx):
    """Set the model's standardisation buffers from the training split."""
    z, norm = data["z"][train_idx], data["norm"][train_idx]
    cond = [np.log1p(z), np.log10(np.clip(norm, 1e-6, None))]
    if getattr(model, "n_cond", 2) == 3:
        ap = data["r_mag"][train_idx] + 2.5 * cond[1]
        ok = np.isfinite(ap)
        fill = np.median(ap[ok]) if ok.any() else 0.0
        cond.append(np.where(ok, ap, fill))
    cond = np.stack(cond, 1)
    mags = np.where(detected[train_idx], data["mag"][train_idx], np.nan)
    mag_shift = np.nanmedian(mags, axis=0)
    mag_scale = np.nanstd(mags, axis=0)
    mag_shift = np.where(np.isfinite(mag_shift), mag_shift, 15.0)
    mag_scale = np.where(np.isfinite(mag_scale) & (mag_scale > 0), mag_scale, 1.0)
    values = dict(
        cond_shift=cond.mean(0),
        cond_scale=np.maximum(cond.std(0), 1e-3),
        mag_shift=mag_shift,
        mag_scale=mag_scale,
    )
    for key, shift, scale in (
        ("log_lagn_true", "lagn_shift", "lagn_scale"),
        ("q_pah_true", "qpah_shift", "qpah_scale"),
    ):
        y = data[key][train_idx]
        y = y[np.isfinite(y)]
        if len(y) > 1 and np.std(y) > 0:
            values[shift], values[scale] = np.mean(y), np.std(y)
    model.set_standardisation(**values)


def fit(
    model,
    data,
    train_idx,
    val_idx,
    cfg,
    *,
    forward=spectrum_forward,
    checkpoints=None,
    stop_after=None,
    progress=True,
    desc="training",
):
    """Train ``model`` in place with early stopping; resumable from ``checkpoints``.

    Parameters
    ----------
    stop_after : int, optional
        Stop (as if killed) after this many epochs of this call; used to test resuming.

    Returns
    -------
    dict
        ``history`` (per-epoch train/val losses), ``best_epoch``, ``finished``.
    """
    import torch
    from tqdm.auto import tqdm

    from specir.bundle import resolve_device

    device = resolve_device(cfg.device)
    model.to(device)
    detected, upper = targets_from(data, snr_detect=cfg.snr_detect)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    # cosine decay of the learning rate over the configured epochs (to lr / 20)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs, eta_min=cfg.lr / 20)
    gen = torch.Generator().manual_seed(cfg.seed)
    state = {
        "epoch": 0,
        "best_val": math.inf,
        "best_epoch": -1,
        "bad_epochs": 0,
        "history": [],
        "best_state": None,
    }
    ckpt = Path(checkpoints) / "last.pt" if checkpoints else None
    if ckpt is not None and ckpt.is_file():
        saved = torch.load(ckpt, weights_only=False)
        if saved["fingerprint"] != cfg.fingerprint():
            raise SpecIRInputError(
                "checkpoint",
                f"{ckpt} was written with another config",
                "delete the checkpoint directory or restore the config",
            )
        model.load_state_dict(saved["model"])
        opt.load_state_dict(saved["optimizer"])
        sched.load_state_dict(saved["scheduler"])
        gen.set_state(saved["generator"])
        torch.set_rng_state(saved["torch_rng"])
        state = saved["state"]
        log.info("resumed from %s after epoch %d", ckpt, state["epoch"])

    def evaluate(idx):
        model.eval()
        total, n = 0.0, 0
        with torch.inference_mode():
            for s in range(0, len(idx), 1024):
                b = _tensor_batch(data, idx[s : s + 1024], detected, upper)
                loss, _ = ir_loss(
                    forward(model, b, device),
                    {k: v.to(device) for k, v in b.items()},
                    censor_sigma_mag=cfg.censor_sigma_mag,
                )
                total += float(loss) * len(b["z"])
                n += len(b["z"])
        return total / max(n, 1)

    epochs_run = 0
    while state["epoch"] < cfg.epochs and state["bad_epochs"] < cfg.patience:
        if stop_after is not None and epochs_run >= stop_after:
            return {**state, "finished": False}
        model.train()
        order = train_idx[torch.randperm(len(train_idx), generator=gen).numpy()]
        running, seen = 0.0, 0
        bar = tqdm(
            range(0, len(order), cfg.batch_size),
            disable=not progress,
            leave=False,
            desc=f"{desc} epoch {state['epoch'] + 1}/{cfg.epochs}",
            unit="batch",
        )
        for s in bar:
            b = _tensor_batch(data, order[s : s + cfg.batch_size], detected, upper)
            if cfg.total_mag_dropout > 0:  # teach the model to predict without the magnitude too
                hide = torch.rand(len(b["z"]), generator=gen) < cfg.total_mag_dropout
                b["r_mag"] = torch.where(hide, torch.nan, b["r_mag"])
            b = {k: v.to(device) for k, v in b.items()}
            loss, _ = ir_loss(forward(model, b, device), b, censor_sigma_mag=cfg.censor_sigma_mag)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            opt.step()
            running += float(loss.detach()) * len(b["z"])
            seen += len(b["z"])
            bar.set_postfix(loss=f"{running / seen:.3f}")
        sched.step()
        val = evaluate(val_idx)
        state["epoch"] += 1
        state["history"].append(
            {"epoch": state["epoch"], "train": running / max(seen, 1), "val": val}
        )
        log.info(
            "%s epoch %d: train %.4f val %.4f", desc, state["epoch"], running / max(seen, 1), val
        )
        if val < state["best_val"]:
            state.update(
                best_val=val,
                best_epoch=state["epoch"],
                bad_epochs=0,
                best_state={k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
            )
        else:
            state["bad_epochs"] += 1
        epochs_run += 1
        if ckpt is not None:
            ckpt.parent.mkdir(parents=True, exist_ok=True)
            tmp = ckpt.with_suffix(".tmp")
            torch.save(
                {
                    "fingerprint": cfg.fingerprint(),
                    "model": model.state_dict(),
                    "optimizer": opt.state_dict(),
                    "scheduler": sched.state_dict(),
                    "generator": gen.get_state(),
                    "torch_rng": torch.get_rng_state(),
                    "state": state,
                },
                tmp,
            )
            tmp.replace(ckpt)
    if state["best_state"] is not None:
        model.load_state_dict(state["best_state"])
    model.eval()
    return {**state, "finished": True}


def latents(model, data, idx, device, batch=1024):
    """Encoder latents (numpy) of rows ``idx``."""
    import torch

    out = []
    model.eval()
    with torch.inference_mode():
        for s in range(0, len(idx), batch):
            i = idx[s : s + batch]
            f = torch.as_tensor(data["flux"][i]).to(device)
            v = torch.as_tensor(data["valid"][i], dtype=torch.float32).to(device)
            out.append(model.encode(f, v).cpu().numpy())
    return np.concatenate(out).astype(np.float64)


def _code_commit():
    """The git commit of the source tree, when it is a git checkout (else None)."""
    import subprocess

    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def train(config, *, stop_after=None, progress=True, data=None):
    """Train a model bundle as ``config`` says; returns the bundle path (or None if stopped).

    A run with checkpoints in ``config.checkpoints`` resumes from them and gives the same
    weights as an uninterrupted run.
    """
    import torch

    from specir import __version__
    from specir.bundle import resolve_device, save_bundle
    from specir.model import SpecIRNet, flops_per_spectrum

    t0 = time.time()
    if config.threads:
        torch.set_num_threads(config.threads)
    if data is None:
        data = read_catalog_arrays(
            config.catalog,
            config.columns,
            z_range=config.z_range,
            max_rows=config.max_rows,
            progress=progress,
        )
    labels = split_labels(
        data["hp29"], order=config.split_order, fractions=config.split_fractions, seed=config.seed
    )
    idx = {name: np.flatnonzero(labels == i) for i, name in enumerate(SPLITS)}
    if len(idx["train"]) == 0 or len(idx["val"]) == 0:
        raise SpecIRInputError(
            "catalog",
            f"split gave {[len(v) for v in idx.values()]} rows",
            "use more rows, a higher split_order or other split_fractions",
        )
    torch.manual_seed(config.seed)
    model = SpecIRNet(config.model)
    detected, _upper = targets_from(data, snr_detect=config.snr_detect)
    standardise_from(model, data, detected, idx["train"])
    result = fit(
        model,
        data,
        idx["train"],
        idx["val"],
        config,
        checkpoints=config.checkpoints,
        stop_after=stop_after,
        progress=progress,
    )
    if not result["finished"]:
        return None
    device = resolve_device(config.device)
    model.to(device)
    lat = latents(model, data, idx["train"], device)
    mean, cov = lat.mean(0), np.cov(lat, rowvar=False) + 1e-9 * np.eye(lat.shape[1])
    d = lat - mean
    d2 = np.einsum("ij,jk,ik->i", d, np.linalg.inv(cov), d)
    threshold = float(np.percentile(d2, config.ood_percentile))
    model.cpu()
    from specir.evaluate import metrics_for_split

    metrics = {
        "measured_on": f"held-out HEALPix test split of {config.catalog} "
        f"(order {config.split_order}); observed magnitudes",
        **metrics_for_split(model, data, idx["test"], config.snr_detect),
    }
    heads = {
        "mag": True,
        "log_lagn": bool(np.isfinite(data["log_lagn_true"][idx["train"]]).any()),
        "agn_class": bool(np.isfinite(data["agn_type_true"][idx["train"]]).any()),
        "q_pah": bool(np.isfinite(data["q_pah_true"][idx["train"]]).any()),
    }
    z_train = data["z"][idx["train"]]
    card = {
        "name": Path(config.output).name,
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "code_version": __version__,
        "code_commit": _code_commit(),
        "training_data": {
            "description": config.training_data.get(
                "description", "unspecified: set [training_data] in the config"
            ),
            **config.training_data,
            "catalog": str(config.catalog),
            "catalog_properties": catalog_properties(config.catalog),
            "n_rows_read": len(data["z"]),
            "n_train": len(idx["train"]),
            "n_val": len(idx["val"]),
            "n_test": len(idx["test"]),
        },
        "config": config.to_dict(),
        "outputs": {
            "magnitudes": "Vega mag, Gaussian mean and sigma per band",
            "log_lagn": "log10 L_AGN,bol / (erg/s) given an AGN; AGN probability from a logit",
            "q_pah": "percent",
        },
        "heads_trained": heads,
        "z_range": [
            float(max(config.z_range[0], z_train.min())),
            float(min(config.z_range[1], z_train.max())),
        ],
        "ood": {
            "statistic": "squared Mahalanobis distance of the latent from the training latents",
            "latent_mean": mean.tolist(),
            "latent_cov": cov.tolist(),
            "percentile": config.ood_percentile,
            "threshold_d2": threshold,
            "n": len(lat),
        },
        "history": result["history"],
        "best_epoch": result["best_epoch"],
        "metrics": metrics,
        "flops_per_spectrum": flops_per_spectrum(model),
        "n_parameters": sum(p.numel() for p in model.parameters()),
        "train_seconds": round(time.time() - t0, 1),
    }
    path = save_bundle(model, card, config.output)
    log.info("wrote bundle %s (best epoch %d)", path, result["best_epoch"])
    return path
