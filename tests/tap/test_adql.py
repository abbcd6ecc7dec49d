"""ADQL translation (specir.tap.adql, translator, translator_geometry): safety and meaning."""

import pickle

import pytest

from specir.tap.adql import ADQLError, TableInfo, translate, translate_template

TABLES = {"s.t": TableInfo("s.t", '"s"."t"', "ra", "dec")}
CONE = "1 = CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', 10, 20, 0.5))"


@pytest.mark.parametrize(
    "query",
    [
        "DROP TABLE s.t",
        "INSERT INTO s.t VALUES (1)",
        "SELECT ra FROM s.t; DROP TABLE s.t",
        "SELECT ra FROM s.t; SELECT dec FROM s.t",
        "SELECT read_csv('/etc/passwd') FROM s.t",
        "SELECT * FROM read_parquet('/etc/passwd')",
        "SELECT getenv('HOME') FROM s.t",
        "SELECT * FROM duckdb_settings()",
        "SELECT * FROM main.duckdb_settings",
        "SELECT current_setting('threads') FROM s.t",
        "COPY s.t TO '/tmp/x.csv'",
        "ATTACH '/tmp/x.db'",
    ],
)
def test_hostile_adql_is_refused_by_the_translator(query):
    with pytest.raises(ADQLError):
        translate(query, TABLES)


def test_translation_maps_top_and_geometry_and_prunes():
    tr = translate(
        f"SELECT TOP 5 ra FROM s.t WHERE {CONE} ORDER BY ra",
        TABLES,
        source=lambda info, regions: f"PRUNED{len(regions)}",
    )
    assert tr.sql.endswith("LIMIT 5")
    assert "PRUNED1" in tr.sql and "adql_distance" in tr.sql


def test_template_is_picklable_and_knows_whether_it_is_pruned():
    cone = translate_template(f"SELECT ra FROM s.t WHERE {CONE}", TABLES)
    scan = translate_template("SELECT ra FROM s.t WHERE z > 1", TABLES)
    assert cone.pruned and not scan.pruned
    again = pickle.loads(pickle.dumps(cone))
    assert again.render().sql == cone.render().sql
    assert '"s"."t" AS "t"' in again.render().sql


@pytest.mark.parametrize(
    ("query", "words"),
    [
        (
            "SELECT ra FROM s.t WHERE 1=CONTAINS(POINT('ICRS', ra, dec), "
            "CIRCLE('ICRS', 10, 20, -1))",
            "radius is -1",
        ),
        (
            "SELECT ra FROM s.t WHERE 1=CONTAINS(POINT('ICRS', ra, dec), "
            "CIRCLE('ICRS', 10, 95, 1))",
            "declination 95",
        ),
        (
            "SELECT ra FROM s.t WHERE 1=CONTAINS(POINT('ICRS', ra, dec), "
            "POLYGON('ICRS', 10, 20, 11, 20, 11))",
            "POLYGON is malformed",
        ),
        (
            "SELECT ra FROM s.t WHERE 1=CONTAINS(POINT('ICRS', ra, dec), "
            "POLYGON('ICRS', 10, 20, 11, 20, 11, 95))",
            "declination 95",
        ),
        (
            "SELECT ra FROM s.t WHERE 1=CONTAINS(POINT('ICRS', ra, dec), "
            "POLYGON('ICRS', 0, 0, 10, 0, 1, 1, 0, 10))",
            "convex",
        ),
        (
            "SELECT DISTANCE(POINT('ICRS', ra, dec), POINT('ICRS', 1, 91)) FROM s.t",
            "declination 91",
        ),
        ("SELECT nosuch(ra) FROM s.t", "not available"),
        ("SELECT ra FROM nowhere", "does not exist"),
    ],
)
def test_bad_geometry_and_names_are_refused_in_adql_terms(query, words):
    with pytest.raises(ADQLError, match=words):
        translate(query, TABLES)


def test_unicode_and_doubled_quotes_reach_the_sql_intact():
    sql = translate("""SELECT "a""b", "é" FROM s.t WHERE name = 'café' -- c""", TABLES).sql
    assert '"a""b"' in sql and '"é"' in sql and "'café'" in sql
    assert 'AS "b"' not in sql  # a doubled quote is not an alias


def test_exponent_literals_keep_their_value():
    sql = translate("SELECT ra FROM s.t WHERE z < 1e308 AND z > 2E-3", TABLES).sql
    assert "1.0e308" in sql and "2.0e-3" in sql


def test_computed_distance_and_area_carry_units():
    tr = translate(
        "SELECT DISTANCE(POINT('ICRS', ra, dec), POINT('ICRS', 1, 2)) AS d, "
        "AREA(CIRCLE('ICRS', 1, 2, 1)) AS a, ra FROM s.t",
        TABLES,
    )
    assert tr.computed["d"][:2] == ("deg", "pos.angDistance")
    assert tr.computed["a"][0] == "deg**2"
    assert "ra" not in tr.computed
