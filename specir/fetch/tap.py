"""The TAP part of a fetch: ADQL for the sample, its expected count, and the query itself.

One service holds the spectroscopic table, the photometric table, a pre-computed crossmatch and
AllWISE, so the crossmatch is a join run by the service (no upload). Where the crossmatch table
lists more than one AllWISE source within the radius, the nearest is kept
(:func:`nearest_counterparts`).
"""

import logging

import numpy as np

from specir.errors import SpecIRInputError, SpecIRQueryError, SpecIRServiceError

__all__ = ["count_adql", "nearest_counterparts", "run_query", "sample_adql", "target_columns"]

log = logging.getLogger(__name__)


def _q(name):
    """A delimited ADQL identifier (needed for reserved words such as ``distance``)."""
    return '"' + name.replace('"', '""') + '"'


def _from_where(recipe, region):
    s, p, x, w = recipe.spec, recipe.photo, recipe.crossmatch, recipe.allwise
    lines = [
        f"FROM {s.table} AS s",
        f"JOIN {p.table} AS p ON p.{p.objid} = s.{s.bestobjid}",
        f"JOIN {x.table} AS x ON x.{x.id1} = s.{s.specobjid}",
        f"JOIN {w.table} AS w ON w.{w.source_id} = x.{x.id2}",
        f"WHERE s.{s.class_column} = '{s.spec_class}' AND s.{s.zwarning} = 0",
        f"  AND x.{_q(x.distance)} <= {x.radius_arcsec!r}",
    ]
    if region is not None:
        ra, dec, radius = (float(v) for v in region)
        if not (0 <= ra < 360 and -90 <= dec <= 90 and 0 < radius <= 180):
            raise SpecIRInputError(
                "--region", f"{region} is not RA DEC RADIUS in degrees", "e.g. --region 150 2 1.5"
            )
        lines.append(
            f"  AND 1 = CONTAINS(POINT('ICRS', s.{s.ra}, s.{s.dec}), "
            f"CIRCLE('ICRS', {ra!r}, {dec!r}, {radius!r}))"
        )
    return "\n".join(lines)


def target_columns(recipe):
    """Output name -> ``alias.column`` of every column the sample query selects."""
    s, p, x, w = recipe.spec, recipe.photo, recipe.crossmatch, recipe.allwise
    cols = {
        "specobjid": f"s.{s.specobjid}",
        "plate": f"s.{s.plate}",
        "mjd": f"s.{s.mjd}",
        "fiberid": f"s.{s.fiberid}",
        "run2d": f"s.{s.run2d}",
        "ra_spec": f"s.{s.ra}",
        "dec_spec": f"s.{s.dec}",
        "z_spec": f"s.{s.z}",
        "modelmag_r": f"p.{p.total_mag}",
        "allwise_source_id": f"w.{w.source_id}",
        "wise_match_arcsec": f"x.{_q(x.distance)}",
    }
    cols.update({c: f"w.{c}" for c in w.columns})
    return cols


def sample_adql(recipe, *, max_rows=0, region=None):
    """ADQL selecting the sample (every spectrum-counterpart pair), ordered by specobjid.

    Examples
    --------
    >>> from specir.fetch.recipe import FetchRecipe
    >>> print(sample_adql(FetchRecipe(), max_rows=10).splitlines()[0][:40])
    SELECT TOP 10 s.specobjid AS specobjid,
    """
    top = f"TOP {int(max_rows)} " if max_rows else ""
    select = ", ".join(f"{expr} AS {name}" for name, expr in target_columns(recipe).items())
    order = f"ORDER BY s.{recipe.spec.specobjid}, x.{_q(recipe.crossmatch.distance)}"
    return f"SELECT {top}{select}\n{_from_where(recipe, region)}\n{order}"


def count_adql(recipe, *, region=None):
    """ADQL counting the spectrum-counterpart pairs :func:`sample_adql` would return."""
    return f"SELECT COUNT(*) AS n\n{_from_where(recipe, region)}"


def _service(recipe):
    import pyvo

    return pyvo.dal.TAPService(recipe.tap.url)


def _run(recipe, adql, *, mode, maxrec=None):
    import pyvo
    import requests

    service = _service(recipe)
    try:
        if mode == "sync":
            result = service.run_sync(adql, maxrec=maxrec)
        else:
            result = service.run_async(adql, maxrec=maxrec, timeout=recipe.tap.timeout_s)
        return result.to_table()
    except pyvo.dal.DALQueryError as exc:
        raise SpecIRQueryError(
            "ADQL", f"{recipe.tap.url} refused the query ({exc})", "check the recipe's names"
        ) from None
    except (pyvo.dal.DALAccessError, requests.RequestException) as exc:
        raise SpecIRServiceError(f"TAP service {recipe.tap.url} failed: {exc}") from None


def expected_count(recipe, *, max_rows=0, region=None):
    """Pairs the service would return (its ``COUNT(*)``), capped at ``max_rows``."""
    table = _run(recipe, count_adql(recipe, region=region), mode="sync")
    n = int(table[table.colnames[0]][0])
    return min(n, max_rows) if max_rows else n


def nearest_counterparts(df):
    """One row per spectrum: the nearest AllWISE counterpart (ties: the smaller source id)."""
    df = df.sort_values(["specobjid", "wise_match_arcsec", "allwise_source_id"], kind="stable")
    return df.drop_duplicates("specobjid", keep="first").reset_index(drop=True)


def run_query(recipe, *, max_rows=0, region=None):
    """Run the sample query; a DataFrame with one row per spectrum (nearest counterpart)."""
    adql = sample_adql(recipe, max_rows=max_rows, region=region)
    maxrec = max_rows or None
    table = _run(recipe, adql, mode=recipe.tap.mode, maxrec=maxrec)
    df = table.to_pandas()
    for c in df.columns:
        if df[c].dtype == object:
            df[c] = [v.decode() if isinstance(v, bytes) else v for v in df[c]]
    for c in ("run2d", "allwise_source_id", "ph_qual", "cc_flags"):
        if c in df.columns:
            df[c] = df[c].astype(str).str.strip()
    missing = [c for c in target_columns(recipe) if c not in df.columns]
    if missing:
        raise SpecIRQueryError("result", f"lacks the columns {missing}", "check the recipe")
    for c in df.columns:
        if df[c].dtype.kind == "f":
            df[c] = df[c].astype(np.float64)
    return nearest_counterparts(df)
