"""ADQL of the fetch recipe, run by ``specir serve`` through pyvo; the recipe's own checks."""

import pandas as pd
import pytest

from fetch.fetch_fixtures import REPO, free_port, tap_tables
from specir.errors import SpecIRInputError
from specir.fetch.recipe import FetchRecipe, TapService, load_fetch_recipe
from specir.fetch.tap import count_adql, expected_count, nearest_counterparts, run_query

REAL_RECIPE = "catalogs/fetch_sdss_allwise.toml"


def _recipe(url):
    import dataclasses

    recipe = load_fetch_recipe(REPO / REAL_RECIPE)
    return dataclasses.replace(recipe, tap=dataclasses.replace(recipe.tap, url=url))


def test_shipped_recipe_names_the_real_tables():
    r = load_fetch_recipe(REPO / REAL_RECIPE)
    assert (r.spec.table, r.photo.table, r.allwise.table) == (
        "sdss_dr17.specobj",
        "sdss_dr17.photoobj",
        "allwise.source",
    )
    assert r.crossmatch.table == "sdss_dr17.x1p5__specobj__allwise__source"
    assert r.sas.base_url == "https://data.sdss.org/sas/dr17"
    assert r == FetchRecipe(description=r.description)  # the file spells out the defaults


def test_unknown_key_and_bad_values_are_refused(tmp_path):
    bad = tmp_path / "r.toml"
    bad.write_text('[tap]\nurll = "x"\n')
    with pytest.raises(SpecIRInputError, match="did you mean 'url'"):
        load_fetch_recipe(bad)
    with pytest.raises(SpecIRInputError, match=r"tap\.mode"):
        TapService(mode="batch")
    with pytest.raises(SpecIRInputError, match="--region"):
        count_adql(FetchRecipe(), region=(400.0, 0.0, 1.0))


def test_unreachable_service_is_a_service_error():
    from specir.errors import SpecIRServiceError

    recipe = _recipe(f"http://127.0.0.1:{free_port()}/tap")  # nothing listens there
    with pytest.raises(SpecIRServiceError, match="failed"):
        expected_count(recipe)
    with pytest.raises(SpecIRServiceError, match="failed"):
        run_query(recipe)


def test_nearest_counterpart_kept():
    df = pd.DataFrame(
        {
            "specobjid": [1, 1, 2],
            "wise_match_arcsec": [1.2, 0.3, 0.9],
            "allwise_source_id": ["a", "b", "c"],
        }
    )
    out = nearest_counterparts(df)
    assert list(out["allwise_source_id"]) == ["b", "c"]


def test_query_through_pyvo_matches_pandas(tap_service, sdss_files):
    recipe = _recipe(tap_service)
    t = {k: v[0] for k, v in tap_tables(sdss_files).items()}
    s = t["sdss_dr17.specobj"]
    s = s[(s["class"] == "GALAXY") & (s["zwarning"] == 0)]
    xm = t["sdss_dr17.x1p5__specobj__allwise__source"]
    pairs = s.merge(xm, left_on="specobjid", right_on="id1")
    pairs = pairs.merge(t["allwise.source"], left_on="id2", right_on="source_id")
    assert expected_count(recipe) == len(pairs)
    assert expected_count(recipe, max_rows=3) == 3
    got = run_query(recipe)
    assert got["specobjid"].is_unique and len(got) == pairs["specobjid"].nunique()
    near = pairs.sort_values("distance").drop_duplicates("specobjid").set_index("specobjid")
    want = near.loc[got["specobjid"], "source_id"].to_numpy()
    assert (got["allwise_source_id"].to_numpy() == want).all()
    # a cone around plate 266 keeps only its spectra
    cone = run_query(recipe, region=(146.6, 0.2, 1.5))
    assert set(cone["plate"]) == {266} and len(cone) == 10


def test_real_training_config_reads_what_the_fetch_writes():
    from specir.fetch.tap import target_columns
    from specir.train import load_config

    cfg = load_config(REPO / "catalogs" / "train_real.toml")
    written = set(target_columns(FetchRecipe()))
    c = cfg.columns
    assert {*c.mag, *c.mag_err, *c.snr, c.total_mag} <= written
    assert (c.log_lagn_true, c.agn_type_true, c.q_pah_true) == ("", "", "")
