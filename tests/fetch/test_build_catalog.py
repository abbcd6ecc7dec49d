"""The catalog step of a fetch: the grid step and the lsdb partitioning, one group or several."""

import lsdb
import pandas as pd

from specir.fetch.build import _catalog_rows, _hats


def _targets(files):
    parts = [f.name[:-5].split("-") for f in files]
    return pd.DataFrame(
        {
            "plate": [int(p[1]) for p in parts],
            "mjd": [int(p[2]) for p in parts],
            "fiberid": [int(p[3]) for p in parts],
            "ra_spec": 0.0,
            "dec_spec": 0.0,
            "z_spec": 0.5,
            "modelmag_r": [15.0 + i for i in range(len(files))],
        }
    )


def test_groups_give_the_same_catalog_as_one_pass(sdss_files, tmp_path):
    files = sdss_files[:4]
    targets = _targets(files).iloc[1:]  # the first spectrum was not selected: left out
    staging = tmp_path / "staging"
    staging.mkdir()
    n, failures = _catalog_rows(files, targets, batch=1, staging=staging, progress=False)
    assert (n, failures) == (3, []) and len(list(staging.glob("batch_*.parquet"))) == 3
    # (the unselected file's batch is empty after the join and writes nothing)
    _hats(staging, tmp_path / "one", {"adql": "SELECT 1"})
    _hats(staging, tmp_path / "groups", {"adql": "SELECT 1"}, group_rows=2)
    one = lsdb.open_catalog(tmp_path / "one").compute().sort_values("id")
    groups = lsdb.open_catalog(tmp_path / "groups").compute().sort_values("id")
    assert len(one) == 3 and list(one["modelmag_r"]) == [16.0, 17.0, 18.0]
    pd.testing.assert_frame_equal(one.reset_index(drop=True), groups.reset_index(drop=True))
    assert "specir_fetch_adql=SELECT 1" in (tmp_path / "groups" / "hats.properties").read_text()
