"""The baselines of ``specir evaluate`` (``specir.baselines``) for an anchored model config."""

import numpy as np
import torch
from conftest import TINY_MODEL

from specir.baselines import _photometry_net
from specir.model import ModelConfig


def test_photometry_baseline_adds_the_reference_magnitude_when_anchored():
    """An anchored photometry net predicts r_ref + colour, as the spectrum model does."""
    torch.manual_seed(0)
    net = _photometry_net(ModelConfig(**TINY_MODEL, anchor_total_mag=True)).eval()
    net.set_standardisation(cond_shift=[0.1, 20.0], mag_shift=[-3.0, -3.5, -6.0, -8.0])
    phot = torch.full((3, 5), 17.0)
    z, norm = torch.full((3,), 0.1), torch.full((3,), 5.0)
    r = torch.tensor([15.0, 16.0, 17.0])
    mu = net(phot, z, norm, r)["mag_mu"]
    # colours do not depend on r here (same photometry, same aperture term only if r moves
    # with norm), so compare against the r_ref the spectrum model would use
    ref = net.reference_mag(norm, r)
    np.testing.assert_allclose(ref.numpy(), r.numpy())
    assert (mu[:, 0] > 10).all()  # magnitudes, not colours (W1 - r is about -3)
    fainter = net(phot, z, norm * 10**-0.4, r + 1)["mag_mu"]
    torch.testing.assert_close(fainter - mu, torch.ones_like(mu))
