"""The specir network: a spender-style spectrum encoder and probabilistic infrared heads.

The encoder follows spender's ``SpectrumEncoder`` (Melchior et al. 2023; Liang et al. 2023):
convolution blocks with PReLU activations and dropout, then attention over wavelength positions
(half of the last block's channels are values, the other half, after a softmax over wavelength,
their weights), then an MLP to a low-dimensional latent. Unlike spender, the convolutions are
strided so that the spectrum is downsampled early; this keeps CPU inference fast. Next to the
attention-pooled features, the encoder MLP sees the spectrum averaged in ``coarse_bins`` wide
wavelength bins, a shortcut for the continuum shape (the information broad-band colours carry)
that speeds up training.

The heads see the latent concatenated with the redshift (``log1p z``), the spectrum's
normalisation (``log10 norm``, since the encoder sees only the normalised spectrum) and, when
``total_mag_input`` is on, the galaxy's total r-band magnitude relative to the spectrum,
``r_mag + 2.5 log10 norm`` (an aperture correction: an SDSS spectrum sees only the light inside
its 3 arcsec fibre, a fraction that depends on size and redshift, while WISE measures total
flux), together with a 0/1 indicator of whether it was given. Training hides the magnitude for a
fraction of the rows so that the model also predicts, with wider errors, without it. The heads
predict

- W1–W4 **Vega magnitudes**: mean and log σ (σ in mag). Magnitudes are AllWISE's native space,
  so the training likelihood uses ``wNmpro`` and ``wNsigmpro`` directly; fluxes in mJy follow
  from :func:`specir.bands.mag_to_mjy`.
- log L_AGN,bol (erg/s) *given that an AGN is present*: mean and log σ, plus a logit for the
  probability that an AGN is present at all.
- q_PAH (%): mean and log σ.

Standardisation constants (input shifts and scales, target means and scales) are buffers of
the module, so they travel inside ``model.safetensors`` and the network maps physical inputs to
physical outputs.
"""

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from specir.bands import N_BANDS
from specir.errors import SpecIRInputError
from specir.grid import GRID_NPIX

__all__ = ["ModelConfig", "SpecIRNet", "flops_per_spectrum"]

_LOG_SIGMA_MIN, _LOG_SIGMA_MAX = -7.0, 3.0


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of :class:`SpecIRNet` (stored in the model card).

    Parameters
    ----------
    channels : tuple of int
        Output channels of each strided convolution block. The last must be even: half are
        attention values, half attention logits.
    kernels : tuple of int
        Kernel size of each block.
    strides : tuple of int
        Stride of each block (the downsampling factor).
    mlp_hidden : int
        Width of the hidden layers of the encoder MLP and of the heads.
    latent_dim : int
        Size of the latent summary (6–10 as in spender).
    dropout : float
        Dropout after each convolution block and in the MLPs (training only).
    coarse_bins : int
        The encoder MLP also sees the spectrum averaged in this many wide wavelength bins
        (valid pixels only), a shortcut for the continuum shape; 0 turns it off.
    total_mag_input : bool
        Whether the heads also see the total r-band magnitude (see the module docstring).
    anchor_total_mag : bool
        Predict colours W - r_ref instead of magnitudes, with r_ref the total r magnitude (or,
        where it is not given, the spectrum's own magnitude ``-2.5 log10 norm`` plus the
        training set's mean aperture term), and leave ``log10 norm`` out of the heads'
        conditions: the same spectrum made Δ mag fainter then gives magnitudes exactly Δ
        fainter (needs ``total_mag_input``).
    npix : int
        Input length; the model grid's 3921 pixels.

    Examples
    --------
    >>> ModelConfig(latent_dim=8).latent_dim
    8
    >>> ModelConfig(channels=(8, 16, 15))
    Traceback (most recent call last):
    ...
    specir.errors.SpecIRInputError: model.channels: last entry is odd (15). Fix: ...
    """

    channels: tuple = (32, 64, 128)
    kernels: tuple = (11, 7, 5)
    strides: tuple = (4, 2, 2)
    mlp_hidden: int = 128
    latent_dim: int = 8
    dropout: float = 0.05
    coarse_bins: int = 16
    total_mag_input: bool = True
    anchor_total_mag: bool = False
    npix: int = GRID_NPIX

    def __post_init__(self):
        for name in ("channels", "kernels", "strides"):
            object.__setattr__(self, name, tuple(int(v) for v in getattr(self, name)))
        if not (len(self.channels) == len(self.kernels) == len(self.strides) >= 1):
            raise SpecIRInputError(
                "model.channels/kernels/strides",
                "must have the same non-zero length",
                "give one kernel and one stride per convolution block",
            )
        if self.channels[-1] % 2:
            raise SpecIRInputError(
                "model.channels",
                f"last entry is odd ({self.channels[-1]})",
                "use an even channel count: half values, half attention logits",
            )
        if (
            min(self.channels + self.kernels + self.strides) < 1
            or self.latent_dim < 1
            or self.coarse_bins < 0
        ):
            raise SpecIRInputError("model", "sizes must be positive", "check the [model] table")
        if self.anchor_total_mag and not self.total_mag_input:
            raise SpecIRInputError(
                "model.anchor_total_mag", "needs total_mag_input", "set total_mag_input = true"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise SpecIRInputError("model.dropout", f"is {self.dropout}", "use 0 <= dropout < 1")

    def to_dict(self):
        """Plain-JSON form (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


class _MLP(nn.Sequential):
    def __init__(self, n_in, n_hidden, n_out, n_layers, dropout):
        layers, n = [], n_in
        for _ in range(n_layers):
            layers += [nn.Linear(n, n_hidden), nn.PReLU(n_hidden), nn.Dropout(dropout)]
            n = n_hidden
        layers.append(nn.Linear(n, n_out))
        super().__init__(*layers)


class SpecIRNet(nn.Module):
    """Spectrum → latent → (W1–W4, log L_AGN, q_PAH) with Gaussian uncertainties.

    Parameters
    ----------
    config : ModelConfig

    Notes
    -----
    Input: ``flux`` and ``ivar`` of shape (n, npix), normalised as
    :class:`specir.spectra.PreparedSpectra` holds them, ``z`` and ``norm`` of shape (n,), and
    optionally ``r_mag`` (n,), the total r-band AB magnitude (NaN where unknown).
    Pixels with ``ivar <= 0`` are zeroed and marked in a second input channel.

    Examples
    --------
    >>> net = SpecIRNet(ModelConfig(channels=(4, 8), kernels=(5, 5), strides=(4, 4),
    ...                             mlp_hidden=16, latent_dim=6)).eval()
    >>> n = 3
    >>> out = net(torch.ones(n, 3921), torch.ones(n, 3921), torch.full((n,), 0.1),
    ...           torch.full((n,), 20.0))
    >>> sorted(out)  # doctest: +NORMALIZE_WHITESPACE
    ['agn_logit', 'lagn_logsig', 'lagn_mu', 'latent', 'mag_logsig', 'mag_mu',
     'qpah_logsig', 'qpah_mu']
    >>> tuple(out["mag_mu"].shape), tuple(out["latent"].shape)
    ((3, 4), (3, 6))
    """

    def __init__(self, config):
        super().__init__()
        self.config = config
        c = config
        blocks, n_in = [], 2
        for ch, k, s in zip(c.channels, c.kernels, c.strides, strict=True):
            blocks += [
                nn.Conv1d(n_in, ch, kernel_size=k, stride=s, padding=k // 2),
                nn.PReLU(ch),
                nn.Dropout(c.dropout),
            ]
            n_in = ch
        self.conv = nn.Sequential(*blocks)
        self.n_att = c.channels[-1] // 2
        self.softmax = nn.Softmax(dim=-1)
        self.encoder_mlp = _MLP(
            self.n_att + c.coarse_bins, c.mlp_hidden, c.latent_dim, 2, c.dropout
        )
        # heads: latent + standardised log1p(z), log10(norm) [, r_mag + 2.5 log10 norm, has_r];
        # anchored models leave log10(norm) out (see ModelConfig.anchor_total_mag)
        self.n_cond = (3 if c.total_mag_input else 2) - int(c.anchor_total_mag)
        n_head_in = c.latent_dim + self.n_cond + int(c.total_mag_input)
        self.head_mag = _MLP(n_head_in, c.mlp_hidden, 2 * N_BANDS, 2, c.dropout)
        self.head_agn = _MLP(n_head_in, c.mlp_hidden // 2, 3, 1, c.dropout)
        self.head_qpah = _MLP(n_head_in, c.mlp_hidden // 2, 2, 1, c.dropout)
        # standardisation constants (set by training from the training set; saved with weights)
        self.register_buffer("flux_clip", torch.tensor(50.0))
        self.register_buffer("cond_shift", torch.zeros(self.n_cond))
        self.register_buffer("cond_scale", torch.ones(self.n_cond))
        self.register_buffer("mag_shift", torch.zeros(N_BANDS))
        self.register_buffer("mag_scale", torch.ones(N_BANDS))
        # log of the per-band factor that calibrates sigma on the validation split
        self.register_buffer("mag_logsig_calib", torch.zeros(N_BANDS))
        self.register_buffer("lagn_shift", torch.tensor(44.0))
        self.register_buffer("lagn_scale", torch.tensor(1.0))
        self.register_buffer("qpah_shift", torch.tensor(2.5))
        self.register_buffer("qpah_scale", torch.tensor(1.5))

    def encode(self, flux, ivar):
        """Latent summary (n, latent_dim) of normalised spectra."""
        valid = (ivar > 0) & torch.isfinite(flux)
        x = torch.where(valid, flux, torch.zeros_like(flux)).clamp(-self.flux_clip, self.flux_clip)
        x = torch.stack([x, valid.to(x.dtype)], dim=1)
        h = self.conv(x)
        values, logits = h[:, : self.n_att], h[:, self.n_att :]
        pooled = (values * self.softmax(logits)).sum(dim=-1)
        if self.config.coarse_bins:
            bins = self.config.coarse_bins
            total = nn.functional.adaptive_avg_pool1d(x[:, :1], bins)[:, 0]
            frac = nn.functional.adaptive_avg_pool1d(x[:, 1:], bins)[:, 0]
            pooled = torch.cat([pooled, total / frac.clamp_min(1e-3)], dim=-1)
        return self.encoder_mlp(pooled)

    def conditions(self, z, norm, r_mag=None):
        """Standardised conditions that the heads see next to the latent.

        ``(log1p z, log10 norm)``, and with ``total_mag_input`` also the aperture term
        ``r_mag + 2.5 log10 norm`` (0 after standardisation where ``r_mag`` is NaN or None)
        followed by the 0/1 indicator that it was given.
        """
        lognorm = torch.log10(norm.clamp_min(1e-6))
        cols = [torch.log1p(z)] if self.config.anchor_total_mag else [torch.log1p(z), lognorm]
        if self.config.total_mag_input:
            if r_mag is None:
                r_mag = torch.full_like(z, float("nan"))
            has = torch.isfinite(r_mag)
            cols.append(torch.where(has, r_mag + 2.5 * lognorm, self.cond_shift[-1]))
        cond = (torch.stack(cols, dim=-1) - self.cond_shift) / self.cond_scale
        if self.config.total_mag_input:
            cond = torch.cat([cond, has.to(cond.dtype)[:, None]], dim=-1)
        return cond

    def reference_mag(self, norm, r_mag=None):
        """r_ref of an anchored model: the total r magnitude, else the spectrum's own plus the
        training set's mean aperture term (``r_mag + 2.5 log10 norm``)."""
        own = self.cond_shift[-1] - 2.5 * torch.log10(norm.clamp_min(1e-6))
        if r_mag is None:
            return own
        return torch.where(torch.isfinite(r_mag), r_mag, own)

    def heads(self, latent, cond, ref=None):
        """Head outputs in physical units from a latent and standardised conditions.

        ``ref`` is the reference magnitude r_ref of an anchored model (added to the colours).
        """
        h = torch.cat([latent, cond], dim=-1)
        mag = self.head_mag(h)
        agn = self.head_agn(h)
        qpah = self.head_qpah(h)
        clamp = dict(min=_LOG_SIGMA_MIN, max=_LOG_SIGMA_MAX)
        mag_mu = self.mag_shift + self.mag_scale * mag[:, :N_BANDS]
        if ref is not None:
            mag_mu = mag_mu + ref[:, None]
        logsig = mag[:, N_BANDS:] + torch.log(self.mag_scale) + self.mag_logsig_calib
        return {
            "latent": latent,
            "mag_mu": mag_mu,
            "mag_logsig": logsig.clamp(**clamp),
            "lagn_mu": self.lagn_shift + self.lagn_scale * agn[:, 0],
            "lagn_logsig": (agn[:, 1] + torch.log(self.lagn_scale)).clamp(**clamp),
            "agn_logit": agn[:, 2],
            "qpah_mu": self.qpah_shift + self.qpah_scale * qpah[:, 0],
            "qpah_logsig": (qpah[:, 1] + torch.log(self.qpah_scale)).clamp(**clamp),
        }

    def forward(self, flux, ivar, z, norm, r_mag=None):
        ref = self.reference_mag(norm, r_mag) if self.config.anchor_total_mag else None
        return self.heads(self.encode(flux, ivar), self.conditions(z, norm, r_mag), ref)

    def set_standardisation(self, **values):
        """Set standardisation buffers (``cond_shift=...``, ``mag_scale=...``, ...)."""
        for name, value in values.items():
            buf = getattr(self, name)
            buf.copy_(torch.as_tensor(np.asarray(value, dtype=np.float32)).reshape(buf.shape))

    def standardisation(self):
        """The standardisation buffers as plain lists/floats (for the model card)."""
        names = ["flux_clip", "cond_shift", "cond_scale", "mag_shift", "mag_scale"]
        names += ["mag_logsig_calib"]
        names += ["lagn_shift", "lagn_scale", "qpah_shift", "qpah_scale"]
        return {n: getattr(self, n).tolist() for n in names}


def flops_per_spectrum(model, *, batch: int = 64) -> float:
    """Floating-point operations of one forward pass per spectrum.

    Counted with :class:`torch.utils.flop_counter.FlopCounterMode` (convolutions and matrix
    multiplies; element-wise operations are not counted).

    Examples
    --------
    >>> net = SpecIRNet(ModelConfig(channels=(4, 8), kernels=(5, 5), strides=(4, 4),
    ...                             mlp_hidden=16, latent_dim=6))
    >>> flops_per_spectrum(net) > 0
    True
    """
    from torch.utils.flop_counter import FlopCounterMode

    npix = model.config.npix
    x = torch.ones(batch, npix)
    z, norm = torch.full((batch,), 0.1), torch.ones(batch)
    was_training = model.training
    model.eval()
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        model(x, x, z, norm)
    model.train(was_training)
    return counter.get_total_flops() / batch
