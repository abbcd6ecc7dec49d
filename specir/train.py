"""``specir train CONFIG``: train a model bundle from a HATS catalog of spectra and WISE photometry.

The configuration is a TOML file read into the frozen dataclass :class:`TrainConfig`. Only the
catalog path and the column mapping depend on the data, so a real SDSS × AllWISE crossmatch
trains with the same code as the simulated survey (truth columns are optional; the heads without
truths stay untrained and predict NaN). See ``docs/training.rst``; the default bundle's
configuration is ``specir/data/models/default/train.toml``.

:func:`train` reads the catalog (:mod:`specir.dataset`), splits it by HEALPix pixel of order
``split_order`` (hashed with the seed: no pixel lies in two splits), runs the training loop of
:mod:`specir.fitting`, scores the test split (:mod:`specir.scoring`) and writes the bundle with
the model card that :func:`specir.bundle.build_card` assembles.
"""

import dataclasses
import hashlib
import json
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from specir import config as _config
from specir.augment import AugmentConfig
from specir.bundle import resolve_device, save_bundle
from specir.calibrate import METHODS as CALIBRATIONS
from specir.calibrate import calibrate_sigma
from specir.card import build_card, ood_statistics
from specir.constants import Z_RANGE
from specir.dataset import (
    WISE_TARGETS,
    ColumnMap,
    read_catalog_arrays,
    split_labels,
    targets_from,
    true_targets,
)
from specir.errors import SpecIRInputError
from specir.fitting import SPECTRUM_INPUTS, fit, standardise_from
from specir.inference import run_network
from specir.likelihood import LIKELIHOODS, NONDETECTIONS, loss_options
from specir.model import ModelConfig, SpecIRNet
from specir.scoring import metrics_for_split
from specir.support import measure_support

__all__ = ["SPLITS", "TrainConfig", "load_config", "recalibrate", "train"]

log = logging.getLogger(__name__)
SPLITS = ("train", "val", "test")
"""Names of the split labels 0, 1, 2 of :func:`specir.dataset.split_labels`."""


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

    catalog: str = _config.path_field()
    output: str = _config.path_field()
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
    z_range: tuple = Z_RANGE
    max_rows: int = 0
    checkpoint_dir: str = _config.path_field("")
    ood_percentile: float = 99.9
    total_mag_dropout: float = 0.3
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    calibrate_sigma: bool = False
    calibration: str = "detections"
    likelihood: str = "gaussian"
    student_dof: float = 5.0
    nondetections: str = "flux"
    targets: str = "observed"
    training_data: dict = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "split_fractions", tuple(float(f) for f in self.split_fractions))
        object.__setattr__(self, "z_range", tuple(float(v) for v in self.z_range))
        if isinstance(self.augment, dict):  # built by hand rather than by the TOML loader
            object.__setattr__(self, "augment", AugmentConfig(**self.augment))
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
        _config.check_choice("likelihood", self.likelihood, LIKELIHOODS)
        _config.check_choice("calibration", self.calibration, CALIBRATIONS)
        _config.check_choice("nondetections", self.nondetections, NONDETECTIONS)
        _config.check_choice("targets", self.targets, WISE_TARGETS)
        if not (math.isfinite(self.student_dof) and self.student_dof > 2.0):
            raise SpecIRInputError(
                "student_dof",
                f"is {self.student_dof}",
                'use a finite number > 2 (for a Gaussian set likelihood = "gaussian")',
            )
        if not 0.0 <= self.total_mag_dropout < 1.0:
            raise SpecIRInputError(
                "total_mag_dropout", f"is {self.total_mag_dropout}", "use 0 <= value < 1"
            )

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        """The config a model card's ``config`` entry records (see :meth:`to_dict`)."""
        return _config.config_from_dict(cls, data, prefix="config")

    @property
    def checkpoints(self) -> Path:
        """Directory of the resumable checkpoints (default: beside ``output``)."""
        out = Path(self.output)
        return Path(self.checkpoint_dir or out.with_name(out.name + ".checkpoints"))

    def to_dict(self) -> dict:
        """Plain-JSON form (tuples become lists), as recorded in the model card."""
        d = dataclasses.asdict(self)
        d["model"] = self.model.to_dict()
        return json.loads(json.dumps(d, default=list))

    def fingerprint(self) -> str:
        """Hash of everything that changes the result (a resumed run must match it)."""
        d = self.to_dict()
        # the σ calibration runs after the last epoch: a run resumes whichever method it names
        for k in ("output", "checkpoint_dir", "device", "threads", "training_data", "calibration"):
            d.pop(k)
        if d["likelihood"] == "gaussian":  # as before the option existed: old runs resume
            d.pop("likelihood"), d.pop("student_dof")
        if d["targets"] == "observed":  # likewise
            d.pop("targets")
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


def load_config(path, **overrides) -> TrainConfig:
    """Read a TOML training configuration into a :class:`TrainConfig`.

    Relative ``catalog``/``output``/``checkpoint_dir`` paths are relative to the TOML file;
    unknown keys are refused with a suggestion (:func:`specir.config.load_config`).
    ``overrides`` (e.g. ``device="cpu"``) replace top-level keys.
    """
    return _config.load_config(TrainConfig, path, what="training config", **overrides)


def _split(data, config):
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
    return idx


def _fit_data(data, config):
    """The arrays the heads are fitted and calibrated on: the measurements, or with
    ``targets = "true"`` the noise-free simulated magnitudes (:func:`~specir.dataset.true_targets`);
    the test split is scored against the measurements either way."""
    return true_targets(data) if config.targets == "true" else data


def _calibrate(model, data, idx, config):
    return calibrate_sigma(
        model,
        data,
        idx["val"],
        snr_detect=config.snr_detect,
        method=config.calibration,
        loss=loss_options(config),
    )


def _test_metrics(model, data, idx, config, calibration):
    k = None if calibration is None else list(calibration["interval68_factor"].values())
    return {
        "measured_on": f"held-out HEALPix test split of {config.catalog} "
        f"(order {config.split_order}); observed magnitudes",
        **metrics_for_split(model, data, idx["test"], config.snr_detect, interval_factors=k),
    }


def _measure(model, data, idx, config, calibration=None):
    """OOD statistics of the training latents, test-split metrics, which heads learnt."""
    model.to(resolve_device(config.device))
    arrays = [data[k][idx["train"]] for k in SPECTRUM_INPUTS]
    latents = run_network(model, arrays, batch_size=1024, keys=("latent",))["latent"]
    model.cpu()
    metrics = _test_metrics(model, data, idx, config, calibration)
    heads = {"mag": True}
    for head, key in (("log_lagn", "log_lagn_true"), ("agn_class", "agn_visible_true")):
        heads[head] = bool(np.isfinite(data[key][idx["train"]]).any())
    heads["q_pah"] = bool(np.isfinite(data["q_pah_true"][idx["train"]]).any())
    return ood_statistics(latents, config.ood_percentile), metrics, heads


def train(
    config: TrainConfig, *, stop_after: int | None = None, progress: bool = True, data=None
) -> Path | None:
    """Train a model bundle as ``config`` says; returns the bundle path (or None if stopped).

    A run with checkpoints in ``config.checkpoints`` resumes from them and gives the same
    weights as an uninterrupted run. ``data`` (the arrays of
    :func:`~specir.dataset.read_catalog_arrays`) skips reading the catalog.
    """
    import torch

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
    idx = _split(data, config)
    torch.manual_seed(config.seed)
    model = SpecIRNet(config.model)
    fit_data = _fit_data(data, config)
    detected = targets_from(fit_data, snr_detect=config.snr_detect)[0]
    standardise_from(model, fit_data, detected, idx["train"])
    result = fit(
        model,
        fit_data,
        idx["train"],
        idx["val"],
        config,
        checkpoints=config.checkpoints,
        stop_after=stop_after,
        progress=progress,
    )
    if not result["finished"]:
        return None
    calibration = None
    if config.calibrate_sigma:
        calibration = _calibrate(model, fit_data, idx, config)
    ood, metrics, heads = _measure(model, data, idx, config, calibration)
    card = build_card(
        model,
        config,
        data=data,
        splits=idx,
        fit_result=result,
        ood=ood,
        metrics=metrics,
        heads=heads,
        seconds=time.time() - t0,
    )
    detected = targets_from(data, snr_detect=config.snr_detect)[0]
    card["support"] = measure_support(
        model, {**data, "detected": detected}, idx["train"], config.augment
    )
    if calibration is not None:
        card["calibration"] = calibration
    path = save_bundle(model, card, config.output)
    log.info("wrote bundle %s (best epoch %d)", path, result["best_epoch"])
    return path


def recalibrate(config: TrainConfig, *, progress: bool = True, data=None) -> dict:
    """Refit the calibration (:mod:`specir.calibrate`) of the bundle ``config`` trained.

    The weights stay as they are: the σ factors refitted on the same validation split must
    reproduce the card's (else the bundle is not the one this configuration trains, and a
    :class:`~specir.errors.SpecIRModelError` says so), unless the configuration names another
    ``calibration`` method than the card's, which is then applied. The card's ``calibration``
    entry gains what the current calibration measures (the 68 % interval factors), and its
    test-split ``metrics`` are rescored with it. Returns the new ``calibration`` entry.
    The card's factors are checked by the card's method first in either case.
    """
    import copy

    from specir.bundle import load_bundle
    from specir.card import write_card_entry
    from specir.errors import SpecIRModelError

    bundle = load_bundle(config.output, device="cpu")
    old = bundle.card.get("calibration", {}).get("mag_sigma_factor")
    if old is None:
        raise SpecIRModelError(
            "model_card.json", "has no sigma calibration", "retrain with calibrate_sigma = true"
        )
    if data is None:
        data = read_catalog_arrays(
            config.catalog, config.columns, z_range=config.z_range,
            max_rows=config.max_rows, progress=progress,
        )  # fmt: skip
    idx = _split(data, config)
    # a bundle calibrated before the option existed was calibrated on the detections
    old_method = bundle.card["calibration"].get("calibration", "detections")
    # the card's factors must reproduce by the card's method, whichever method is applied
    # (else this is not the catalog, seed and split that trained the bundle)
    model = copy.deepcopy(bundle.model)
    fit_data = _fit_data(data, config)
    check = _calibrate(model, fit_data, idx, dataclasses.replace(config, calibration=old_method))
    again = check["mag_sigma_factor"]
    if any(abs(math.log(again[b] / old[b])) > 1e-4 for b in old):
        raise SpecIRModelError(
            "model_card.json",
            f"sigma factors {old} do not reproduce on this validation split ({again})",
            "recalibrate with the configuration (catalog, seed, split) that trained the bundle",
        )
    calibration = check
    if old_method != config.calibration:
        calibration = _calibrate(model, fit_data, idx, config)
        log.info("%s: sigma calibration changed from %r to %r: factors %s -> %s", bundle.path,
                 old_method, config.calibration, old, calibration["mag_sigma_factor"])  # fmt: skip
    metrics = _test_metrics(model, data, idx, config, calibration)
    if old_method != config.calibration:  # new σ factors: the weights' buffer changes too
        card = {**bundle.card, "calibration": calibration, "metrics": metrics}
        save_bundle(model, card, bundle.path)
    else:
        write_card_entry(bundle.path, "calibration", calibration)
        write_card_entry(bundle.path, "metrics", metrics)
    log.info("recalibrated %s: 68%% interval factors %s", bundle.path,
             calibration["interval68_factor"])  # fmt: skip
    return calibration
