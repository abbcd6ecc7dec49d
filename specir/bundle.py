"""Model bundles: a directory with ``model.safetensors`` and ``model_card.json``.

The model card states everything needed to use and to judge the weights: the input grid and
normalisation, the WISE band definitions (Vega zero points, speclite filter names), the training
data described plainly (simulator, version, seed, N, priors; or a real catalog's path), the
hyperparameters, the input and target standardisation, metrics with what they were measured on,
the code version, the redshift range trained on, the latent statistics used for the
out-of-distribution flag, and the sha256 of ``model.safetensors``.

:func:`load_bundle` refuses a bundle whose checksum, grid, band definitions or architecture do
not match, with a :class:`~specir.errors.SpecIRModelError` that says what is wrong.
"""

import functools
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from specir.card import (
    CARD_FILE,
    FORMAT,
    FORMAT_VERSION,
    band_description,
    grid_description,
    mahalanobis_d2,
    plain_json,
)
from specir.errors import SpecIRInputError, SpecIRModelError

__all__ = ["ModelBundle", "default_bundle_dir", "load_bundle", "resolve_device", "save_bundle"]

log = logging.getLogger(__name__)

WEIGHTS_FILE = "model.safetensors"


def default_bundle_dir(name: str = "default") -> Path:
    """Where a named bundle lives inside the package: ``specir/data/models/<name>/``."""
    return Path(__file__).parent / "data" / "models" / name


_DEVICES = ("auto", "cpu", "cuda", "cuda:N")  # what resolve_device accepts (N: a CUDA number)


def check_device_name(device):
    """Refuse a device name specir cannot run on (without asking torch what is present)."""
    valid = ", ".join(_DEVICES)
    if device is None:
        return
    if not isinstance(device, str):
        raise SpecIRInputError("device", f"is a {type(device).__name__}", f"give one of {valid}")
    kind, _, index = device.partition(":")
    if device != "auto" and (
        kind not in ("cpu", "cuda") or (index and (kind != "cuda" or not index.isdigit()))
    ):
        raise SpecIRInputError(
            "device", f"is {device!r}, which specir cannot run on", f"give one of {valid}"
        )


def resolve_device(device: str | None = "auto") -> str:
    """``"auto"`` → ``"cuda"`` when a CUDA device is available, else ``"cpu"``.

    Anything but ``auto``, ``cpu``, ``cuda`` or ``cuda:N`` is refused before a model is touched.

    Examples
    --------
    >>> resolve_device("cpu")
    'cpu'
    >>> resolve_device("auto") in ("cpu", "cuda")
    True
    >>> resolve_device("tpu")
    Traceback (most recent call last):
    ...
    specir.errors.SpecIRInputError: device: is 'tpu', which specir cannot run on. Fix: ...
    """
    import torch

    check_device_name(device)
    if device is None or device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    kind, _, index = device.partition(":")
    if kind == "cuda" and not torch.cuda.is_available():
        raise SpecIRModelError(
            "device",
            f"{device!r} requested but CUDA is not available",
            "pass device='auto' or device='cpu'",
        )
    if index and int(index) >= torch.cuda.device_count():
        raise SpecIRInputError(
            "device",
            f"{device!r} requested but only {torch.cuda.device_count()} CUDA devices exist",
            "pass device='cuda' or a smaller device number",
        )
    return device


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True)
class ModelBundle:
    """A loaded, verified model bundle.

    Attributes
    ----------
    model : SpecIRNet
        In eval mode, on ``device``.
    card : dict
        The parsed model card.
    path : pathlib.Path
    device : str
    """

    model: object
    card: dict
    path: Path
    device: str

    @property
    def z_range(self) -> tuple[float, float]:
        """Redshift range the model was trained on."""
        return tuple(self.card["z_range"])

    def ood_d2(self, latent) -> np.ndarray:
        """Squared Mahalanobis distance of latents (n, d) from the training latents."""
        ood = self.card["ood"]
        return mahalanobis_d2(latent, ood["latent_mean"], ood["latent_cov"])


def save_bundle(model, card: dict, path: str | os.PathLike) -> Path:
    """Write ``model`` (a :class:`~specir.model.SpecIRNet`) and its card to directory ``path``.

    The card's ``architecture``, ``grid``, ``bands``, ``standardisation`` and ``sha256``
    entries are filled in here; everything else comes from ``card``.

    Returns
    -------
    pathlib.Path
        The bundle directory.
    """
    from safetensors.torch import save_file

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    tmp = path / (WEIGHTS_FILE + ".tmp")
    save_file(state, str(tmp))
    os.replace(tmp, path / WEIGHTS_FILE)
    full = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        **card,
        "architecture": model.config.to_dict(),
        "grid": grid_description(),
        "bands": band_description(),
        "standardisation": model.standardisation(),
        "sha256": sha256_file(path / WEIGHTS_FILE),
    }
    text = json.dumps(plain_json(full), indent=2, allow_nan=False)  # NaN (no data): null
    tmp_card = path / (CARD_FILE + ".tmp")  # atomic: a killed save leaves the old card whole
    tmp_card.write_text(text + "\n")
    os.replace(tmp_card, path / CARD_FILE)
    return path


def _resolve_path(path_or_name):
    if (
        isinstance(path_or_name, os.PathLike)
        or "/" in str(path_or_name)
        or os.sep in str(path_or_name)
    ):
        return Path(path_or_name).expanduser().resolve()
    named = default_bundle_dir(str(path_or_name))
    if named.is_dir():
        return named.resolve()
    if Path(path_or_name).is_dir():
        return Path(path_or_name).resolve()
    if str(path_or_name) == "default":
        raise SpecIRModelError(
            "model",
            f"no default bundle is installed ({named} does not exist; it ships with specir, "
            "so this installation is incomplete)",
            "reinstall specir, or train a bundle with "
            "`specir train specir/data/models/default/train.toml` (see docs/training.rst) "
            "and pass model=PATH_TO_BUNDLE",
        )
    raise SpecIRModelError(
        "model",
        f"{path_or_name!r} is neither a bundle directory nor an installed bundle name",
        "pass the path of a directory holding model.safetensors and model_card.json",
    )


def load_bundle(
    path_or_name: "str | os.PathLike | ModelBundle" = "default", *, device: str = "auto"
) -> ModelBundle:
    """Load and verify a model bundle; cached per process, bundle and device.

    Parameters
    ----------
    path_or_name : str or path-like
        A bundle directory, or the name of a bundle installed in ``specir/data/models/``.
    device : str
        ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``, ...

    Returns
    -------
    ModelBundle

    Raises
    ------
    SpecIRModelError
        When the bundle is missing, corrupt (sha256 mismatch), made for another grid or band
        set, or its weights do not fit the architecture its card states.
    """
    if isinstance(path_or_name, ModelBundle):
        return path_or_name
    path = _resolve_path(path_or_name)
    weights = path / WEIGHTS_FILE
    if not weights.is_file() or not (path / CARD_FILE).is_file():
        raise SpecIRModelError(
            "model",
            f"{path} lacks {WEIGHTS_FILE} or {CARD_FILE}",
            "point to a bundle written by `specir train`",
        )
    # cached per file versions: a rewritten card (``write_card_entry``) or new weights reload
    stats = [(p.stat().st_mtime_ns, p.stat().st_size) for p in (weights, path / CARD_FILE)]
    return _load_cached(str(path), resolve_device(device), *stats)


def _read_card(path):
    try:
        card = json.loads((path / CARD_FILE).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise SpecIRModelError(
            "model_card.json",
            f"cannot be parsed ({exc})",
            "restore the bundle from its source or retrain",
        ) from exc
    if card.get("format") != FORMAT or card.get("format_version") != FORMAT_VERSION:
        raise SpecIRModelError(
            "model_card.json",
            f"is not a {FORMAT} v{FORMAT_VERSION} card",
            "use a bundle written by this version of specir",
        )
    for key in ("z_range", "ood", "heads_trained"):
        if key not in card:
            raise SpecIRModelError("model_card.json", f"lacks {key!r}", "retrain the bundle")
    return card


def _check_card(card, path):
    """Refuse a card whose checksum, grid or bands do not match the weights and specir."""
    digest = sha256_file(path / WEIGHTS_FILE)
    if digest != card.get("sha256"):
        raise SpecIRModelError(
            "model.safetensors",
            f"sha256 {digest} does not match the model card's {card.get('sha256')} "
            "(the weights are corrupt or were replaced)",
            "restore the bundle from its source or retrain it with `specir train CONFIG`",
        )
    for band, k in card.get("calibration", {}).get("interval68_factor", {}).items():
        if k is not None and not (isinstance(k, int | float) and np.isfinite(k) and k > 0):
            raise SpecIRModelError(
                "model_card.json calibration.interval68_factor",
                f"{band} is {k!r}, not a positive number",
                "refit it with `specir train CONFIG --calibrate-only`",
            )
    grid = grid_description()
    got = card.get("grid", {})
    for key in ("loglam0", "dloglam", "npix"):
        if not np.isclose(float(got.get(key, np.nan)), grid[key], rtol=1e-12, atol=0):
            raise SpecIRModelError(
                "model_card.json grid",
                f"{key}={got.get(key)} differs from specir's model grid ({key}={grid[key]})",
                "use a bundle trained on specir's grid, or retrain on it",
            )
    window = got.get("normalisation", {}).get("window_rest_angstrom")
    if window != grid["normalisation"]["window_rest_angstrom"]:
        raise SpecIRModelError(
            "model_card.json grid",
            "normalisation window differs",
            "retrain on specir's normalisation",
        )
    bands = [(b["name"], b["zero_point_jy"]) for b in card.get("bands", [])]
    if bands != [(b["name"], b["zero_point_jy"]) for b in band_description()]:
        raise SpecIRModelError(
            "model_card.json bands",
            f"{bands} differ from specir.bands",
            "retrain with the current band definitions",
        )


@functools.lru_cache(maxsize=8)
def _load_cached(path, device, _weights_stat, _card_stat):
    import torch
    from safetensors.torch import load_file

    from specir.model import ModelConfig, SpecIRNet

    path = Path(path)
    card = _read_card(path)
    _check_card(card, path)
    try:
        model = SpecIRNet(ModelConfig(**card["architecture"]))
        state = load_file(str(path / WEIGHTS_FILE))
        # bundles from before the sigma calibration have none: calibration factor 1
        state.setdefault("mag_logsig_calib", torch.zeros_like(model.mag_logsig_calib))
        model.load_state_dict(state, strict=True)
    except (KeyError, TypeError, RuntimeError) as exc:
        raise SpecIRModelError(
            "model.safetensors",
            f"does not fit the architecture in the card ({exc})",
            "use the card written together with these weights",
        ) from exc
    model.eval().to(torch.device(device))
    log.debug("loaded model bundle %s on %s", path, device)
    return ModelBundle(model=model, card=card, path=path, device=device)
