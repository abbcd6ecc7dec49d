"""Cosmology tables shared by the simulator (flat LCDM, H0=70, Om0=0.3, as in bagpipes)."""

import functools

import numpy as np

__all__ = ["age_gyr", "angular_diameter_distance_mpc", "comoving_volume", "luminosity_distance_cm"]

_MPC_CM = 3.0856775814913673e24


@functools.cache
def _tables():
    from astropy.cosmology import FlatLambdaCDM

    cosmo = FlatLambdaCDM(H0=70.0, Om0=0.3)
    z = np.linspace(0.0, 1.0, 2001)
    return (
        z,
        cosmo.luminosity_distance(z).value,
        cosmo.comoving_volume(z).value,
        cosmo.age(z).value,
    )


def luminosity_distance_cm(z):
    """Luminosity distance in cm."""
    zt, dl, _, _ = _tables()
    return np.interp(z, zt, dl) * _MPC_CM


def angular_diameter_distance_mpc(z):
    """Angular-diameter distance in Mpc."""
    zt, dl, _, _ = _tables()
    z = np.asarray(z, float)
    return np.interp(z, zt, dl) / (1.0 + z) ** 2


def comoving_volume(z):
    """Comoving volume (full sky) out to z, in Mpc^3."""
    zt, _, vc, _ = _tables()
    return np.interp(z, zt, vc)


def age_gyr(z):
    """Age of the universe at z in Gyr."""
    zt, _, _, age = _tables()
    return np.interp(z, zt, age)
