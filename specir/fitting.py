"""The training loop: standardisation and early-stopped, resumable optimisation.

:func:`fit` trains any network that returns the heads of :class:`~specir.model.SpecIRNet`
(the spectrum model of ``specir train`` and the photometry baseline of ``specir evaluate``),
so both use one loop. It needs only the hyperparameters of a
:class:`~specir.train.TrainConfig` (``epochs``, ``batch_size``, ``lr``, ``weight_decay``,
``patience``, ``seed``, ``device``, ``snr_detect``, ``censor_sigma_mag``,
``total_mag_dropout``, ``likelihood``, ``student_dof``, ``nondetections`` and its
``fingerprint()``).

The likelihood is that of :mod:`specir.likelihood`.
"""

import logging
import math
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from specir.augment import augment_batch
from specir.dataset import targets_from
from specir.errors import SpecIRInputError
from specir.inference import run_network
from specir.likelihood import ir_loss, loss_options

__all__ = ["SPECTRUM_INPUTS", "fit", "standardise_from"]

log = logging.getLogger(__name__)

SPECTRUM_INPUTS = ("flux", "valid", "z", "norm", "r_mag")
"""Arrays of :func:`specir.dataset.read_catalog_arrays` that a spectrum model is fed, in order."""
_TARGETS = ("mag", "mag_err", "snr", "log_lagn_true", "agn_visible_true", "q_pah_true")
_VAL_BATCH = 1024


def _tensors(data, idx, keys, detected, upper):
    """Rows ``idx`` of the arrays ``keys`` (float32 tensors) and of the detection masks."""
    import torch

    batch = {
        k: torch.as_tensor(np.ascontiguousarray(data[k][idx]), dtype=torch.float32) for k in keys
    }
    batch["detected"] = torch.as_tensor(detected[idx])
    batch["upper"] = torch.as_tensor(upper[idx])
    return batch


def standardise_from(model, data, detected, train_idx):
    """Set the model's standardisation buffers from the training split."""
    z, norm = data["z"][train_idx], data["norm"][train_idx]
    lognorm = np.log10(np.clip(norm, 1e-6, None))
    mc = model.config
    cond = [np.log1p(z)] if mc.anchor_total_mag else [np.log1p(z), lognorm]
    ap_mean = 0.0
    if mc.total_mag_input:
        ap = data["r_mag"][train_idx] + 2.5 * lognorm
        ok = np.isfinite(ap)
        fill = np.median(ap[ok]) if ok.any() else 0.0
        cond.append(np.where(ok, ap, fill))
        ap_mean = cond[-1].mean()
    cond = np.stack(cond, 1)
    mags = np.where(detected[train_idx], data["mag"][train_idx], np.nan)
    if mc.anchor_total_mag:  # the heads predict colours W - r_ref
        r = data["r_mag"][train_idx]
        ref = np.where(np.isfinite(r), r, ap_mean - 2.5 * lognorm)
        mags = mags - ref[:, None]
    with warnings.catch_warnings():  # a band without any detection: the defaults below
        warnings.simplefilter("ignore", RuntimeWarning)
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


def validation_loss(model, data, idx, masks, cfg, inputs=SPECTRUM_INPUTS):
    """Mean loss over rows ``idx`` (batches of 1024, weighted by their size)."""
    import torch

    out = run_network(model, [data[k][idx] for k in inputs], batch_size=_VAL_BATCH)
    total = 0.0
    for s in range(0, len(idx), _VAL_BATCH):
        sl = slice(s, s + _VAL_BATCH)
        batch = _tensors(data, idx[sl], _TARGETS, *masks)
        pred = {k: torch.as_tensor(v[sl], dtype=torch.float32) for k, v in out.items()}
        loss, _ = ir_loss(pred, batch, **loss_options(cfg))
        total += float(loss) * len(idx[sl])
    return total / max(len(idx), 1)


class _Run:
    """Optimiser, schedule, random state and history of one :func:`fit`; checkpointable."""

    def __init__(self, model, cfg):
        import torch

        self.model, self.cfg = model, cfg
        self.opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        # cosine decay of the learning rate over the configured epochs (to lr / 20)
        self.sched = torch.optim.lr_scheduler.CosineAnnealingLR(
            self.opt, T_max=cfg.epochs, eta_min=cfg.lr / 20
        )
        self.gen = torch.Generator().manual_seed(cfg.seed)
        self.state = {
            "epoch": 0,
            "best_val": math.inf,
            "best_epoch": -1,
            "bad_epochs": 0,
            "history": [],
            "best_state": None,
        }

    def resume(self, ckpt):
        import torch

        saved = torch.load(ckpt, weights_only=False)
        if saved["fingerprint"] != self.cfg.fingerprint():
            raise SpecIRInputError(
                "checkpoint",
                f"{ckpt} was written with another config",
                "delete the checkpoint directory or restore the config",
            )
        self.model.load_state_dict(saved["model"])
        self.opt.load_state_dict(saved["optimizer"])
        self.sched.load_state_dict(saved["scheduler"])
        self.gen.set_state(saved["generator"])
        torch.set_rng_state(saved["torch_rng"])
        self.state = saved["state"]
        log.info("resumed from %s after epoch %d", ckpt, self.state["epoch"])

    def save(self, ckpt):
        """Write the checkpoint atomically (a kill leaves the previous one intact)."""
        import torch

        ckpt.parent.mkdir(parents=True, exist_ok=True)
        tmp = ckpt.with_suffix(".tmp")
        saved = {
            "fingerprint": self.cfg.fingerprint(),
            "model": self.model.state_dict(),
            "optimizer": self.opt.state_dict(),
            "scheduler": self.sched.state_dict(),
            "generator": self.gen.get_state(),
            "torch_rng": torch.get_rng_state(),
            "state": self.state,
        }
        torch.save(saved, tmp)
        tmp.replace(ckpt)

    def train_epoch(self, data, train_idx, masks, inputs, device, bar):
        """One pass over the training rows in shuffled batches; the mean training loss."""
        import torch

        cfg, model = self.cfg, self.model
        model.train()
        order = train_idx[torch.randperm(len(train_idx), generator=self.gen).numpy()]
        running, seen = 0.0, 0
        for s in bar(range(0, len(order), cfg.batch_size)):
            b = _tensors(data, order[s : s + cfg.batch_size], (*inputs, *_TARGETS), *masks)
            if cfg.total_mag_dropout > 0:  # teach the model to predict without the magnitude too
                hide = torch.rand(len(b["z"]), generator=self.gen) < cfg.total_mag_dropout
                b["r_mag"] = torch.where(hide, torch.nan, b["r_mag"])
            augment = getattr(cfg, "augment", None)
            if augment is not None and {"flux", "valid", "norm"} <= set(inputs):
                b = augment_batch(b, augment, self.gen)
            b = {k: v.to(device) for k, v in b.items()}
            out = model(*(b[k] for k in inputs))
            loss, _ = ir_loss(out, b, **loss_options(cfg))
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            self.opt.step()
            running += float(loss.detach()) * len(b["z"])
            seen += len(b["z"])
        self.sched.step()
        return running / max(seen, 1)

    def record(self, train_loss, val_loss):
        """Book one finished epoch; keep the weights of the best validation loss."""
        st = self.state
        st["epoch"] += 1
        st["history"].append({"epoch": st["epoch"], "train": train_loss, "val": val_loss})
        if val_loss < st["best_val"]:
            best = {k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()}
            st.update(best_val=val_loss, best_epoch=st["epoch"], bad_epochs=0, best_state=best)
        else:
            st["bad_epochs"] += 1

    @property
    def running(self):
        st = self.state
        return st["epoch"] < self.cfg.epochs and st["bad_epochs"] < self.cfg.patience


def fit(
    model,
    data: dict,
    train_idx: np.ndarray,
    val_idx: np.ndarray,
    cfg,
    *,
    inputs: Sequence[str] = SPECTRUM_INPUTS,
    checkpoints: str | Path | None = None,
    stop_after: int | None = None,
    progress: bool = True,
    desc: str = "training",
) -> dict:
    """Train ``model`` in place with early stopping; resumable from ``checkpoints``.

    Parameters
    ----------
    model : torch.nn.Module
        Returns the heads of :class:`~specir.model.SpecIRNet` from ``model(*inputs)``.
    data : dict
        Arrays as :func:`specir.dataset.read_catalog_arrays` returns them.
    train_idx, val_idx : ndarray of int
        Rows to train on and to stop early on.
    cfg : TrainConfig
        The hyperparameters (see the module docstring).
    inputs : sequence of str
        Keys of ``data`` fed to the model, in order (default :data:`SPECTRUM_INPUTS`).
    checkpoints : path-like, optional
        Directory of ``last.pt``, written after every epoch and resumed from when present.
    stop_after : int, optional
        Stop (as if killed) after this many epochs of this call; used to test resuming.

    Returns
    -------
    dict
        ``history`` (per-epoch train/val losses), ``best_epoch``, ``finished``.
    """
    from tqdm.auto import tqdm

    from specir.bundle import resolve_device

    device = resolve_device(cfg.device)
    model.to(device)
    masks = targets_from(data, snr_detect=cfg.snr_detect)
    run = _Run(model, cfg)
    ckpt = Path(checkpoints) / "last.pt" if checkpoints else None
    if ckpt is not None and ckpt.is_file():
        run.resume(ckpt)
    epochs_run = 0
    while run.running:
        if stop_after is not None and epochs_run >= stop_after:
            return {**run.state, "finished": False}
        label = f"{desc} epoch {run.state['epoch'] + 1}/{cfg.epochs}"

        def bar(it, label=label):
            return tqdm(it, disable=not progress, leave=False, desc=label, unit="batch")

        train_loss = run.train_epoch(data, train_idx, masks, inputs, device, bar)
        val_loss = validation_loss(model, data, val_idx, masks, cfg, inputs)
        run.record(train_loss, val_loss)
        log.info("%s epoch %d: train %.4f val %.4f", desc, run.state["epoch"], train_loss, val_loss)
        epochs_run += 1
        if ckpt is not None:
            run.save(ckpt)
    if run.state["best_state"] is not None:
        model.load_state_dict(run.state["best_state"])
    model.eval()
    return {**run.state, "finished": True}
