"""ADQL 2.1 functions the ADQL 2.0 grammar lacks (specir.tap.functions): LOWER, UPPER,
COALESCE, CAST and IN_UNIT, asked of the real service over HTTP and checked against the
catalog read directly and against astropy.units."""

import astropy.units as u
import numpy as np
import pytest

from specir.tap.functions import conversion_factor
from specir.tap.grammar import ADQLError


def _ok(client, query):
    status, _, body = client.sync(query)
    assert status == 200, client.status(body)
    return client.table(body)


def _refused(client, query):
    status, _, body = client.sync(query)
    assert status == 400
    value, message = client.status(body)
    assert value == "ERROR" and "Error:" not in message and "zzfn" not in message
    return message


def test_lower_and_upper_on_columns_and_literals(client):
    t = _ok(
        client,
        "SELECT table_name, UPPER(table_name) AS up, lower('ÉTÉ') FROM TAP_SCHEMA.tables "
        "WHERE LOWER(UPPER(table_name)) = 'specir.vac'",
    )
    assert list(t["table_name"]) == ["specir.vac"]
    assert list(t["up"]) == ["SPECIR.VAC"] and list(t["lower"]) == ["été"]


def test_coalesce_replaces_nulls_as_sql_says(client, truth):
    t = _ok(client, "SELECT id, COALESCE(log_lagn, -1.0) AS l FROM vac WHERE id <= 60 ORDER BY id")
    ref = truth.set_index("id").loc[list(t["id"]), "log_lagn"].fillna(-1.0)
    assert ref.eq(-1.0).any() and ref.ne(-1.0).any()
    np.testing.assert_allclose(np.asarray(t["l"]), ref.to_numpy(), rtol=1e-6)


def test_cast_between_adql_types(client, truth):
    t = _ok(
        client,
        "SELECT id, CAST(z * 1000 AS INTEGER) AS zi, CAST(id AS VARCHAR(2)) AS s, "
        "CAST(CAST(flags AS DOUBLE PRECISION) / 2 AS REAL) AS half FROM vac "
        "WHERE id <= 40 ORDER BY id",
    )
    ref = truth.set_index("id").loc[list(t["id"])]
    assert np.all(np.abs(np.asarray(t["zi"]) - ref.z.to_numpy() * 1000) <= 0.5)
    assert t["zi"].dtype.kind == "i"
    assert list(t["s"]) == [str(i)[:2] for i in t["id"]]
    np.testing.assert_allclose(np.asarray(t["half"]), ref["flags"].to_numpy() / 2)


def test_in_unit_converts_with_the_schema_unit(client, truth):
    t = _ok(
        client,
        "SELECT id, IN_UNIT(ra, 'arcsec') AS ra_as, IN_UNIT(v.w1_flux, 'Jy') FROM vac AS v "
        "WHERE IN_UNIT(dec, 'rad') > 0.5 ORDER BY id",
    )
    ref = truth[truth.dec > np.degrees(0.5)].sort_values("id")
    assert list(t["id"]) == list(ref.id)
    np.testing.assert_allclose(
        np.asarray(t["ra_as"]), (ref.ra.to_numpy() * u.deg).to_value("arcsec")
    )
    np.testing.assert_allclose(np.asarray(t["in_unit"]), ref.w1_flux.to_numpy() / 1000, rtol=1e-6)
    assert str(t["ra_as"].unit) == "arcsec" and str(t["in_unit"].unit) == "Jy"


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("SELECT IN_UNIT(ra, 'km') FROM vac", "cannot be converted to 'km'"),
        ("SELECT IN_UNIT(flags, 'm') FROM vac", "unit the schema gives"),
        ("SELECT IN_UNIT(ra + 1, 'rad') FROM vac", "unit the schema gives"),
        ("SELECT IN_UNIT(w1_mag, 'dex') FROM vac", "logarithmic"),
        ("SELECT IN_UNIT(ra, 'parsnips') FROM vac", "is not a unit"),
        ("SELECT IN_UNIT(ra, dec) FROM vac", "string literal"),
        ("SELECT CAST(z AS BLOB) FROM vac", "CAST to 'BLOB'"),
        ("SELECT CAST(z) FROM vac", "CAST(expression AS type)"),
        ("SELECT CAST('abc' AS INTEGER) FROM vac", "could not be converted"),
        ("SELECT LOWER(ra, dec) FROM vac", "LOWER takes 1 argument"),
        ("SELECT COALESCE(ra) FROM vac", "at least two"),
        ("SELECT TOP 1 LOWER(ra) FROM vac", "wrong type"),
        ("SELECT id FROM vac WHERE 1 = CONTAINS(UPPER(ra), CIRCLE('ICRS', 1, 2, 3))", "UPPER"),
    ],
)
def test_function_misuse_is_refused_in_adql_terms(client, query, words):
    assert words in _refused(client, query)


def test_reserved_names_stay_usable_as_delimited_identifiers(client):
    t = _ok(client, 'SELECT TOP 2 id AS "lower", z AS "cast" FROM vac ORDER BY id')
    assert t.colnames == ["lower", "cast"] and list(t["lower"]) == [1, 2]


def test_conversion_factor_agrees_with_astropy():
    assert conversion_factor("mJy", "W/(m2.Hz)") == pytest.approx(
        (1 * u.mJy).to_value("W m-2 Hz-1")
    )
    with pytest.raises(ADQLError, match="different quantities"):
        conversion_factor("deg", "s")


def test_in_unit_on_an_uploaded_column_uses_its_votable_unit(server):
    import pyvo
    from astropy.table import Table

    mine = Table({"n": [1, 2, 3], "dist": [1.0, 2.5, 4.0], "raw": [1.0, 2.0, 3.0]})
    mine["dist"].unit = u.kpc
    service = pyvo.dal.TAPService(server.url)
    got = service.search(
        "SELECT n, IN_UNIT(dist, 'pc') AS d_pc FROM TAP_UPLOAD.mine ORDER BY n",
        uploads={"mine": mine},
    ).to_table()
    np.testing.assert_allclose(np.asarray(got["d_pc"]), [1000.0, 2500.0, 4000.0])
    assert str(got["d_pc"].unit) == "pc"
    with pytest.raises(pyvo.dal.DALQueryError, match="unit the schema gives"):
        service.search("SELECT IN_UNIT(raw, 'pc') FROM TAP_UPLOAD.mine", uploads={"mine": mine})
    with pytest.raises(pyvo.dal.DALQueryError, match="cannot be converted"):
        service.search("SELECT IN_UNIT(dist, 's') FROM TAP_UPLOAD.mine", uploads={"mine": mine})
