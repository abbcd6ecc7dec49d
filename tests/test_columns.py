"""Column definitions (``specir.columns``) follow the band table, and predict_ir uses them."""

from specir.bands import WISE_BANDS
from specir.columns import COLUMNS, IDENTITY_COLUMNS, PREDICTION_COLUMNS, VAC_COLUMNS
from specir.predict import OUTPUT_COLUMNS


def test_descriptions_and_ucds_come_from_the_band_table():
    for band in WISE_BANDS:
        flux = COLUMNS[f"{band.name}_flux"]
        assert f"{band.wavelength_um:.4g} um" in flux.description
        assert flux.ucd == f"phot.flux.density;{band.ucd}"
        assert COLUMNS[f"{band.name}_mag_err"].ucd == f"stat.error;phot.mag;{band.ucd}"
        ci = COLUMNS[f"{band.name}_mag_ci68"]
        assert (ci.unit, ci.ucd) == ("mag", f"stat.error;phot.mag;{band.ucd}")
        assert "68%" in ci.description
    assert "11.56 um" in COLUMNS["w3_mag"].description  # Jarrett et al. (2011), not "12"


def test_one_list_of_predicted_columns():
    assert OUTPUT_COLUMNS is PREDICTION_COLUMNS
    names = [c.name for c in VAC_COLUMNS]
    assert names == [c.name for c in IDENTITY_COLUMNS] + list(PREDICTION_COLUMNS)
    assert len(set(names)) == len(names) and PREDICTION_COLUMNS[-1] == "flags"


def test_every_ucd_is_made_of_ucd1plus_words():
    """Each UCD parses against the IVOA UCD1+ word list (astropy's copy), in a legal order."""
    from astropy.io.votable.ucd import check_ucd

    bad = [(c.name, c.ucd) for c in VAC_COLUMNS if not check_ucd(c.ucd, True, has_colon=False)]
    assert bad == []


def test_p_agn_is_a_probability_column_next_to_log_lagn():
    from specir.columns import AGN_THRESHOLD

    names = list(PREDICTION_COLUMNS)
    assert names.index("p_agn") + 1 == names.index("log_lagn")
    p = COLUMNS["p_agn"]
    assert (p.dtype, p.unit, p.ucd.split(";")[0]) == ("float32", "", "stat.probability")
    # the luminosity's description says when it is NaN, with the threshold predict_ir uses
    assert f"p_agn < {AGN_THRESHOLD:g}" in COLUMNS["log_lagn"].description
