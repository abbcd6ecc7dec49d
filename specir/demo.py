"""``specir demo``: the whole of specir on a small simulated survey, in one command.

1. simulate a few thousand galaxies on a patch of sky (:mod:`specir.sim`);
2. make their value-added catalog with the HEALPix job (the recipe ``catalogs/demo.toml``, the
   embedded default, on a local Dask cluster) using the shipped model;
3. start the TAP service on it (:mod:`specir.tap`);
4. run a cone search and a TOPCAT-style ADQL query through pyvo, over HTTP;
5. log the URL to paste into TOPCAT and keep serving until Ctrl-C (``--no-serve`` stops here).

Everything it writes goes under the recipe's paths (``data/demo/`` in a checkout); a second run
reuses the simulated survey.
"""

import logging
import threading
from pathlib import Path

__all__ = ["DEMO_PATCH", "run_demo"]

log = logging.getLogger(__name__)

DEMO_PATCH = (150.0, 160.0, 0.0, 8.0)
"""The demo survey's patch of sky: (ra_min, ra_max, dec_min, dec_max) in degrees (80 deg²)."""
_DEFAULT_RECIPE = Path("catalogs") / "demo.toml"


def _recipe(path, workdir):
    from specir.catalog.job import Recipe, load_recipe

    if path is not None:
        return load_recipe(path)
    if _DEFAULT_RECIPE.is_file():
        return load_recipe(_DEFAULT_RECIPE)
    work = Path(workdir)
    return Recipe(input=str(work / "survey"), output=str(work / "vac"), table_name="demo_vac")


def _simulate(path, n, seed, workers):
    from specir.sim.config import PopulationConfig, SimConfig
    from specir.sim.survey import write_survey

    if Path(path).exists():
        log.info("reusing the simulated survey at %s", path)
        return
    config = SimConfig(population=PopulationConfig(sky_patch=DEMO_PATCH))
    log.info("simulating %d galaxies (seed %d) into %s", n, seed, path)
    write_survey(path, n=n, seed=seed, config=config, n_workers=workers)


def demo_queries(url: str, table: str) -> tuple:
    """The demo's two queries through pyvo: a cone search and a TOPCAT-style ADQL query.

    Returns
    -------
    tuple of astropy.table.Table
        ``(cone, agn_candidates)``.
    """
    import pyvo

    service = pyvo.dal.TAPService(url)
    ra0 = 0.5 * (DEMO_PATCH[0] + DEMO_PATCH[1])
    dec0 = 0.5 * (DEMO_PATCH[2] + DEMO_PATCH[3])
    cone = service.search(
        f"SELECT id, ra, dec, z, w1_mag, w2_mag, w3_mag, w4_mag, flags FROM {table} "
        f"WHERE 1 = CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', {ra0}, {dec0}, 1.0))"
    ).to_table()
    agn = service.search(
        f"SELECT TOP 10 id, ra, dec, z, w1_w2, w2_w3, p_agn, log_lagn, log_lagn_err FROM {table} "
        "WHERE w1_w2 > 0.8 ORDER BY w1_w2 DESC"
    ).to_table()
    return cone, agn


def run_demo(
    *,
    n: int = 3000,
    seed: int = 7,
    recipe=None,
    workdir: str = "data/demo",
    workers: int = 2,
    port: int = 8080,
    serve: bool = True,
) -> dict:
    """Run the demo (after Ctrl-C when ``serve``).

    Returns
    -------
    dict
        ``url`` (the TAP service), ``vac`` (the catalog path), ``table`` and the two query
        results ``cone`` and ``agn`` (astropy tables).
    """
    from specir.catalog.job import run_job
    from specir.tap.server import serve as tap_serve

    rec = _recipe(recipe, workdir)
    _simulate(rec.input, n, seed, workers)
    log.info("making the value-added catalog %s with the HEALPix job", rec.output)
    vac = run_job(rec, workers=workers, resume=True)
    server = tap_serve([vac], port=port, background=True)
    try:
        cone, agn = demo_queries(server.url, rec.table_name)
        log.info("cone search (1 deg around the patch centre): %d galaxies", len(cone))
        log.info("first rows:\n%s", "\n".join(cone[:5].pformat(max_width=120)))
        log.info(
            "TOPCAT-style query, Stern et al. (2012) AGN candidates (W1 - W2 > 0.8):\n%s",
            "\n".join(agn.pformat(max_width=120)),
        )
        log.info(
            "TAP service: %s  (TOPCAT: VO > Table Access Protocol (TAP) Query > TAP URL; table %s)",
            server.url,
            rec.table_name,
        )
        if serve:
            log.info("serving until Ctrl-C")
            try:
                threading.Event().wait()
            except KeyboardInterrupt:
                log.info("stopping")
    finally:
        server.shutdown()
        server.server_close()
    return {"url": server.url, "vac": vac, "table": rec.table_name, "cone": cone, "agn": agn}
