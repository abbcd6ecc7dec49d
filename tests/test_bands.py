"""The WISE band table (``specir.bands``): conversions and what is derived from it."""

import numpy as np

from specir.bands import BAND_NAMES, N_BANDS, WISE_BANDS, mag_to_mjy, mjy_to_mag


def test_round_trip_and_error_propagation():
    mag = np.array([[14.0, 13.5, 10.2, 7.9]])
    flux, err = mag_to_mjy(mag, np.full((1, 4), 0.1))
    back, back_err = mjy_to_mag(flux, err)
    np.testing.assert_allclose(back, mag)
    np.testing.assert_allclose(back_err, 0.1)
    # first-order propagation: sigma_F / F = 0.4 ln 10 sigma_m
    np.testing.assert_allclose(err / flux, 0.4 * np.log(10) * 0.1)


def test_non_positive_flux_is_nan():
    assert np.isnan(mjy_to_mag([0.0, -1.0, 1.0, 1.0])[:2]).all()


def test_table_is_ordered_and_sized():
    assert N_BANDS == len(BAND_NAMES) == 4 and BAND_NAMES == ("w1", "w2", "w3", "w4")
    waves = [b.wavelength_um for b in WISE_BANDS]
    assert waves == sorted(waves)
    assert WISE_BANDS[2].label == "WISE W3 (11.56 um)"


def test_ucd_range_follows_the_wavelength():
    from dataclasses import replace

    assert [b.ucd for b in WISE_BANDS][2] == "em.IR.8-15um"
    assert replace(WISE_BANDS[0], wavelength_um=40.0).ucd == "em.IR.30-60um"
    assert replace(WISE_BANDS[0], wavelength_um=500.0).ucd == "em.IR"
