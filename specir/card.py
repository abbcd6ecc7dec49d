"""The model card: what a bundle records about its weights, built and updated in one place.

:func:`build_card` assembles the card of a freshly trained bundle (training data described
plainly, the whole config, history, test-split metrics, the latent statistics of the
out-of-distribution flag, cost); :func:`specir.bundle.save_bundle` adds the entries that describe
the weights (architecture, :func:`grid_description`, :func:`band_description`,
standardisation, sha256). :func:`write_card_entry` sets one later entry, such as the held-out
evaluation that ``specir evaluate --write-card`` measures, without touching the weights.
:func:`mahalanobis_d2` is the out-of-distribution statistic of training and prediction alike.
"""

import json
import os
import time
from pathlib import Path

import numpy as np

from specir.errors import SpecIRModelError

__all__ = [
    "CARD_FILE",
    "FORMAT",
    "FORMAT_VERSION",
    "band_description",
    "build_card",
    "code_commit",
    "grid_description",
    "mahalanobis_d2",
    "ood_statistics",
    "plain_json",
    "train_hardware",
    "write_card_entry",
]

CARD_FILE = "model_card.json"
FORMAT = "specir-model-bundle"
FORMAT_VERSION = 1
WEIGHT_ENTRIES = (
    "format",
    "format_version",
    "sha256",
    "architecture",
    "grid",
    "bands",
    "standardisation",
)
"""Card entries that describe the weights: written only together with them."""


def grid_description() -> dict:
    """The model grid and normalisation, as recorded in model cards."""
    from specir.grid import GRID_DLOGLAM, GRID_LOGLAM0, GRID_NPIX, NORM_WINDOW

    return {
        "loglam0": GRID_LOGLAM0,
        "dloglam": GRID_DLOGLAM,
        "npix": GRID_NPIX,
        "wavelength": "vacuum Angstrom, observed frame, 10**(loglam0 + dloglam * arange(npix))",
        "flux_unit": "1e-17 erg / (s cm2 Angstrom)",
        "normalisation": {
            "statistic": "median flux of valid pixels",
            "window_rest_angstrom": list(NORM_WINDOW),
        },
    }


def band_description() -> list[dict]:
    """WISE band definitions, as recorded in model cards."""
    from specir.bands import WISE_BANDS

    return [
        {
            "name": b.name,
            "wavelength_um": b.wavelength_um,
            "zero_point_jy": b.zero_point_jy,
            "speclite_name": b.speclite_name,
            "magnitude_system": "Vega (AllWISE profile-fit, wNmpro)",
        }
        for b in WISE_BANDS
    ]


def mahalanobis_d2(latent, mean, cov) -> np.ndarray:
    """Squared Mahalanobis distance of each row of ``latent`` (n, d) from ``mean`` under ``cov``.

    Examples
    --------
    >>> mahalanobis_d2([[2.0, 0.0], [0.0, 3.0]], [0.0, 0.0], [[4.0, 0.0], [0.0, 1.0]])
    array([1., 9.])
    """
    icov = np.linalg.inv(np.asarray(cov, dtype=float))
    d = np.asarray(latent, dtype=float) - np.asarray(mean, dtype=float)
    return np.einsum("ij,jk,ik->i", d, icov, d)


def ood_statistics(latents, percentile: float) -> dict:
    """The card's ``ood`` entry: mean and covariance of the training latents and the threshold.

    The threshold is the ``percentile`` of the training latents' own squared Mahalanobis
    distances; ``predict_ir`` flags ``OUT_OF_DISTRIBUTION`` above it.
    """
    latents = np.asarray(latents, dtype=float)
    mean = latents.mean(0)
    cov = np.cov(latents, rowvar=False) + 1e-9 * np.eye(latents.shape[1])
    d2 = mahalanobis_d2(latents, mean, cov)
    return {
        "statistic": "squared Mahalanobis distance of the latent from the training latents",
        "latent_mean": mean.tolist(),
        "latent_cov": cov.tolist(),
        "percentile": percentile,
        "threshold_d2": float(np.percentile(d2, percentile)),
        "n": len(latents),
    }


def code_commit() -> str | None:
    """The git commit of the source tree, when it is a git checkout (else None)."""
    import subprocess

    here = Path(__file__).parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def build_card(
    model,
    config,
    *,
    data: dict,
    splits: dict,
    fit_result: dict,
    ood: dict,
    metrics: dict,
    heads: dict,
    seconds: float,
) -> dict:
    """The model card of a freshly trained bundle (:func:`save_bundle` adds the rest).

    Parameters
    ----------
    model : SpecIRNet
        The trained network.
    config : TrainConfig
        Its training configuration (recorded whole).
    data : dict
        The arrays it was trained on (:func:`specir.dataset.read_catalog_arrays`).
    splits : dict
        Row indices of the ``train``, ``val`` and ``test`` splits.
    fit_result : dict
        What :func:`specir.fitting.fit` returned (history, best epoch).
    ood : dict
        :func:`ood_statistics` of the training latents.
    metrics : dict
        Test-split metrics (:func:`specir.scoring.metrics_for_split`) and what they are.
    heads : dict
        Which heads had truths to learn from.
    seconds : float
        Wall-clock training time.
    """
    from specir import __version__
    from specir.dataset import catalog_properties
    from specir.model import flops_per_spectrum

    z_train = data["z"][splits["train"]]
    described = config.training_data.get(
        "description", "unspecified: set [training_data] in the config"
    )
    return {
        "name": Path(config.output).name,
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "code_version": __version__,
        "code_commit": code_commit(),
        "training_data": {
            "description": described,
            **config.training_data,
            "catalog": str(config.catalog),
            "catalog_properties": catalog_properties(config.catalog),
            "n_rows_read": len(data["z"]),
            **{f"n_{name}": len(rows) for name, rows in splits.items()},
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
        "ood": ood,
        "history": fit_result["history"],
        "best_epoch": fit_result["best_epoch"],
        "metrics": metrics,
        "flops_per_spectrum": flops_per_spectrum(model),
        "n_parameters": sum(p.numel() for p in model.parameters()),
        "train_seconds": round(seconds, 1),
        "train_hardware": train_hardware(next(model.parameters()).device),
    }


def train_hardware(device) -> dict:
    """What a training run ran on: CPU model and cores, torch threads, the device and its GPU.

    Examples
    --------
    >>> hw = train_hardware("cpu")
    >>> hw["device"], hw["cores"] > 0, hw["gpu"]
    ('cpu', True, None)
    """
    import platform

    import torch

    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(
                (ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu
            )
    except OSError:
        pass
    device = torch.device(device)
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else None
    return {
        "device": str(device),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "gpu": gpu,
    }


def plain_json(value):
    """``value`` with NaN and infinities as None (JSON has no NaN), dicts and lists walked."""
    if isinstance(value, dict):
        return {k: plain_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain_json(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def write_card_entry(path: str | os.PathLike, key: str, value) -> Path:
    """Set one top-level entry of a bundle's model card; the weights are left untouched.

    Used by ``specir evaluate --write-card`` for ``heldout_evaluation``. The entries that
    describe the weights (``sha256``, ``architecture``, ``grid``, ``bands``,
    ``standardisation``, ``format``) cannot be replaced this way. NaN values are written as
    ``null``. The file is replaced atomically.
    """
    path = Path(path)
    if key in WEIGHT_ENTRIES:
        raise SpecIRModelError(
            "model_card.json", f"entry {key!r} describes the weights", "retrain to change it"
        )
    card_path = path / CARD_FILE
    text = card_path.read_text()
    card = json.loads(text)
    card[key] = plain_json(value)
    lines = text.splitlines()
    indent = len(lines[1]) - len(lines[1].lstrip()) if len(lines) > 1 else 2  # keep the file's
    tmp = card_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(card, indent=indent or None, allow_nan=False) + "\n")
    os.replace(tmp, card_path)
    return card_path
