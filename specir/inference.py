"""Batched network inference: the one place where a trained network is run on numpy arrays.

:func:`run_network` feeds arrays to a network in batches under ``torch.inference_mode`` and
returns its raw outputs as float64 numpy arrays; :func:`gaussian_outputs` turns them into means,
standard deviations and the AGN probability. ``predict_ir`` (through
:func:`specir.predict.predict_prepared`), the scoring of :mod:`specir.evaluate`, the validation
loss and the out-of-distribution statistics of :mod:`specir.train` all call it, so a change of
batching, device handling or dtypes happens here once.
"""

from collections.abc import Sequence

import numpy as np

from specir.errors import SpecIRInputError

__all__ = ["OUTPUT_KEYS", "default_batch_size", "gaussian_outputs", "run_network"]

OUTPUT_KEYS = (
    "latent",
    "mag_mu",
    "mag_logsig",
    "lagn_mu",
    "lagn_logsig",
    "agn_logit",
    "qpah_mu",
    "qpah_logsig",
)
"""Keys of a :class:`~specir.model.SpecIRNet` forward pass (and of :func:`run_network`)."""


def default_batch_size(device: str) -> int:
    """Spectra per forward pass: 1024 on the CPU, 8192 on a GPU.

    Examples
    --------
    >>> default_batch_size("cpu"), default_batch_size("cuda:0")
    (1024, 8192)
    """
    return 1024 if str(device) == "cpu" else 8192


def _device_of(model):
    return next(iter(model.parameters())).device


def run_network(
    model,
    inputs: Sequence[np.ndarray | None],
    *,
    batch_size: int | None = None,
    keys: Sequence[str] | None = None,
) -> dict[str, np.ndarray]:
    """Run ``model(*inputs)`` in batches; its outputs as float64 numpy arrays.

    Parameters
    ----------
    model : torch.nn.Module
        A network returning a dict of tensors (a :class:`~specir.model.SpecIRNet`, or the
        photometry baseline of :mod:`specir.baselines`); put in eval mode here, run on the
        device its parameters live on.
    inputs : sequence of array_like
        The positional arguments of ``model``, each with the rows on the first axis, e.g.
        ``(flux, ivar, z, norm, r_mag)``; passed as float32 tensors. ``None`` stands for an
        all-NaN column (no total magnitude).
    batch_size : int, optional
        Rows per forward pass (default :func:`default_batch_size`); the results do not depend
        on it.
    keys : sequence of str, optional
        The outputs to keep (default: all that the model returns).

    Returns
    -------
    dict of str to ndarray
        Each output concatenated over the batches; for zero rows, empty arrays of the right
        trailing shape.

    Examples
    --------
    >>> import torch
    >>> from specir.model import ModelConfig, SpecIRNet
    >>> net = SpecIRNet(ModelConfig(channels=(4, 8), kernels=(5, 5), strides=(4, 4),
    ...                             mlp_hidden=16, latent_dim=6))
    >>> flux = np.ones((5, 3921))
    >>> out = run_network(net, (flux, flux, np.full(5, 0.1), np.ones(5), None), batch_size=2)
    >>> out["mag_mu"].shape, out["latent"].dtype
    ((5, 4), dtype('float64'))
    """
    import torch

    device = _device_of(model)
    n = len(next(a for a in inputs if a is not None))
    inputs = [np.full(n, np.nan) if a is None else a for a in inputs]
    batch_size = default_batch_size(device.type) if batch_size is None else int(batch_size)
    if batch_size < 1:
        raise SpecIRInputError("batch_size", f"is {batch_size}", "pass a positive integer")
    model.eval()
    parts = []
    with torch.inference_mode():
        # at least one pass, so that an empty input still yields arrays of the right shape
        for start in range(0, max(n, 1), batch_size):
            sl = slice(start, start + batch_size)
            tensors = [
                torch.as_tensor(np.ascontiguousarray(a[sl]), dtype=torch.float32).to(device)
                for a in inputs
            ]
            out = model(*tensors)
            parts.append({k: out[k].float().cpu().numpy() for k in keys or out})
    return {k: np.concatenate([p[k] for p in parts]).astype(np.float64) for k in parts[0]}


def gaussian_outputs(raw: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Means, standard deviations (σ = exp(log σ)) and the AGN probability from raw outputs.

    Returns
    -------
    dict
        ``mag_mu``, ``mag_sig`` (n, bands); ``lagn_mu``, ``lagn_sig``, ``p_agn``,
        ``qpah_mu``, ``qpah_sig`` (n,) where ``raw`` has them.

    Examples
    --------
    >>> g = gaussian_outputs({"mag_mu": np.zeros((1, 4)), "mag_logsig": np.zeros((1, 4)),
    ...                       "agn_logit": np.zeros(1)})
    >>> float(g["mag_sig"][0, 0]), float(g["p_agn"][0])
    (1.0, 0.5)
    """
    out = {"mag_mu": raw["mag_mu"], "mag_sig": np.exp(raw["mag_logsig"])}
    for name in ("lagn", "qpah"):
        if f"{name}_mu" in raw:
            out[f"{name}_mu"] = raw[f"{name}_mu"]
            out[f"{name}_sig"] = np.exp(raw[f"{name}_logsig"])
    if "agn_logit" in raw:
        out["p_agn"] = 1.0 / (1.0 + np.exp(-raw["agn_logit"]))
    return out
