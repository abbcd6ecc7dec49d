"""Generate a simulated SDSS × WISE survey: chunked, parallel, resumable; written as HATS.

The survey of ``n`` galaxies for a ``seed`` is cut into chunks of ``config.chunk_size``.
Chunk ``i`` draws from ``SeedSequence(seed).spawn(n_chunks)[i]`` and fills its ids
``i * chunk_size ...``, so the output does not depend on how many processes run or in which
order chunks finish. Finished chunks are kept as Parquet files in a work folder beside the
output, so that a restarted run only makes the missing ones.
"""

import dataclasses
import json
import logging
import os
import shutil
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np

from specir.errors import SpecIRInputError
from specir.sim.config import SimConfig
from specir.sim.galaxy import DEFAULT_GALAXY, _sed, model_photometry, observe_galaxy
from specir.sim.hats import arrow_table, write_hats
from specir.sim.observe import fiber_fraction, observe_wise
from specir.sim.population import draw_population

__all__ = ["DEFAULT_GALAXY", "model_photometry", "simulate", "simulate_chunk", "write_survey"]

logger = logging.getLogger(__name__)


def _check_n_seed(n, seed):
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise SpecIRInputError("n", f"must be a positive integer, got {n!r}", "pass n >= 1")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise SpecIRInputError(
            "seed", f"must be a non-negative integer, got {seed!r}", "pass an integer seed >= 0"
        )


def _chunk_seeds(seed, n_chunks):
    return np.random.SeedSequence(int(seed)).spawn(n_chunks)


def _observed_galaxies(n, rng, config):
    """Draw and model candidates until ``n`` pass the main-sample cut."""
    sed = _sed()
    kept = []
    while len(kept) < n:
        batch = max(16, int(1.3 * (n - len(kept))))
        pop = draw_population(batch, rng, config)
        pop["fiber_frac"] = fiber_fraction(
            pop["re_kpc"],
            pop["sersic"],
            pop["z"],
            fiber_diameter=config.sdss.fiber_diameter_arcsec,
            seeing_fwhm=config.sdss.seeing_fwhm_arcsec,
        )
        pop["av_lines"] = pop["av"] * pop["eta"]
        for j in range(batch):
            p = {k: v[j] for k, v in pop.items()}
            out = observe_galaxy(p, sed, rng, config)
            if out is None:
                continue
            kept.append((p, *out))
            if len(kept) == n:
                break
    return kept


def _truth_columns(pk, df):
    """The ``*_true`` columns of a chunk from the drawn parameters and the modelled SEDs."""
    agn_type = pk["agn_type"].astype(np.int8)
    return {
        **{c: df[c].to_numpy() for c in df.columns if c.endswith("_flux_true")},
        "log_lagn_true": np.where(agn_type > 0, pk["log_lagn"], np.nan),
        "agn_type_true": agn_type,
        "agn_ir_share_true": df["agn_ir_share_true"].to_numpy(),
        "q_pah_true": pk["qpah"],
        "u_min_true": pk["umin"],
        "gamma_true": pk["gamma"],
        "log_mstar_true": df["log_mstar_true"].to_numpy(),
        "log_sfr_true": df["log_sfr_true"].to_numpy(),
        "metallicity_true": pk["z_star"],
        "gas_metallicity_true": pk["z_gas"],
        "av_true": pk["av"],
        "veldisp_true": pk["veldisp"],
        "fiber_fraction_true": pk["fiber_frac"],
    }


def simulate_chunk(index, n, seed_seq, config):
    """Generate chunk ``index`` with ``n`` galaxies passing the main-sample cut (a DataFrame)."""
    import pandas as pd

    rng = np.random.default_rng(seed_seq)
    kept = _observed_galaxies(n, rng, config)
    df = pd.DataFrame([k[1] for k in kept])
    wise = observe_wise(df[[f"w{b}_flux_true" for b in range(1, 5)]].to_numpy(), rng, config.wise)
    first = index * config.chunk_size
    pk = {key: np.array([k[0][key] for k in kept]) for key in kept[0][0]}
    out = pd.DataFrame(
        {
            "id": np.arange(first, first + n, dtype=np.int64),
            "ra": pk["ra"],
            "dec": pk["dec"],
            "z": pk["z"],
            **wise,
            **_truth_columns(pk, df),
            **{c: df[c].to_numpy() for c in df.columns if c.startswith("modelmag_")},
        }
    )
    for i, col in enumerate(("flux", "ivar", "mask")):
        out[col] = list(np.stack([k[2 + i] for k in kept]))
    return out


def _chunk_sizes(n, chunk_size):
    n_chunks = -(-n // chunk_size)
    return [min(chunk_size, n - i * chunk_size) for i in range(n_chunks)]


def simulate(n, *, seed, config=None):
    """Simulate ``n`` galaxies of the SDSS main sample with WISE photometry, in memory.

    Parameters
    ----------
    n : int
        Number of galaxies (after the r < 17.77 cut).
    seed : int
        Seed; the same seed (and configuration) gives identical output.
    config : SimConfig, optional
        Population and instrument settings; the defaults describe SDSS × AllWISE.

    Returns
    -------
    pandas.DataFrame
        One row per galaxy, columns as agreed in the project conventions (``id``, ``ra``,
        ``dec``, ``z``, ``flux``/``ivar``/``mask`` arrays, ``wNmpro``..., truths ``*_true``,
        ``modelmag_*``).

    Examples
    --------
    >>> df = simulate(2, seed=1)
    >>> df["flux"].iloc[0].shape
    (3921,)
    """
    import pandas as pd

    config = config or SimConfig()
    _check_n_seed(n, seed)
    sizes = _chunk_sizes(n, config.chunk_size)
    seeds = _chunk_seeds(seed, len(sizes))
    return pd.concat(
        [simulate_chunk(i, m, seeds[i], config) for i, m in enumerate(sizes)], ignore_index=True
    )


def _run_chunk(args):
    index, n, seed_seq, config, path = args
    import pyarrow.parquet as pq

    df = simulate_chunk(index, n, seed_seq, config)
    tmp = path.with_suffix(".tmp")
    pq.write_table(arrow_table(df), tmp)
    os.replace(tmp, path)
    return index


def _check_manifest(work, n, seed, config):
    """Write (or check, on a rerun) the chunk folder's record of ``n``, ``seed`` and config."""
    work.mkdir(parents=True, exist_ok=True)
    manifest = {"n": int(n), "seed": int(seed), "config": dataclasses.asdict(config)}
    mpath = work / "manifest.json"
    if not mpath.exists():
        mpath.write_text(json.dumps(manifest, indent=1))
    elif json.loads(mpath.read_text()) != json.loads(json.dumps(manifest)):
        raise SpecIRInputError(
            "out",
            f"{work} holds chunks of a different run",
            "remove that folder or use the same n, seed and config",
        )
    return manifest


def _simulate_chunks(work, n, seed, config, n_workers):
    """Make the chunk files that do not exist yet; returns all chunk paths in order."""
    from tqdm.auto import tqdm

    sizes = _chunk_sizes(n, config.chunk_size)
    seeds = _chunk_seeds(seed, len(sizes))
    files = [work / f"chunk_{i:06d}.parquet" for i in range(len(sizes))]
    todo = [
        (i, m, seeds[i], config, files[i]) for i, m in enumerate(sizes) if not files[i].exists()
    ]
    logger.info("%d of %d chunks to simulate with %d processes", len(todo), len(sizes), n_workers)
    if todo:
        # bagpipes builds its IGM grid file on first import (delete, then write): importing it
        # here, once, keeps worker processes of a fresh installation from racing on that file
        import bagpipes  # noqa: F401
    with tqdm(total=n, initial=n - sum(t[1] for t in todo), unit="gal", desc="simulating") as bar:
        if n_workers == 1:
            for t in todo:
                _run_chunk(t)
                bar.update(t[1])
        elif todo:
            with ProcessPoolExecutor(n_workers) as pool:
                futs = {pool.submit(_run_chunk, t): t[1] for t in todo}
                for fut in as_completed(futs):
                    fut.result()
                    bar.update(futs[fut])
    return files


def simulator_label() -> str:
    """``specir.sim <version>``, plus the source commit when the code runs from a git checkout
    (the installed version can be older than the source a development tree runs).

    Examples
    --------
    >>> simulator_label().startswith("specir.sim ")
    True
    """
    from specir import __version__
    from specir.card import code_commit

    commit = code_commit()
    return f"specir.sim {__version__}" + (f" (source {commit})" if commit else "")


def write_survey(
    path, *, n, seed, config=None, n_workers=None, keep_chunks=False, group_rows=20_000
):
    """Simulate a survey in parallel and write it as a HATS catalog at ``path``.

    Chunks go to ``<path>_chunks/`` as Parquet; a rerun with the same ``n``, ``seed`` and
    configuration reuses finished chunks. The HATS catalog is then built from the chunk files
    with lsdb on a local Dask cluster, in groups of bounded size
    (:func:`specir.sim.hats.write_hats`), so nothing holds the whole survey in memory.

    Parameters
    ----------
    path : str or Path
        Output catalog directory (must not exist yet).
    n, seed, config
        As for :func:`simulate`.
    n_workers : int, optional
        Processes to use; default: all cores.
    keep_chunks : bool
        Keep the chunk folder after the catalog is written.
    group_rows : int
        Galaxies per lsdb partitioning group (bounds the memory of the HATS step; the catalog
        does not depend on it).

    Returns
    -------
    Path
        ``path``.
    """
    config = config or SimConfig()
    _check_n_seed(n, seed)
    path = Path(path)
    if path.exists():
        raise SpecIRInputError("out", f"{path} already exists", "choose a new output path")
    n_workers = n_workers or os.cpu_count() or 1
    label = simulator_label()  # the code that simulates, not what the tree holds at the end
    work = path.parent / f"{path.name}_chunks"
    manifest = _check_manifest(work, n, seed, config)
    files = _simulate_chunks(work, n, seed, config, n_workers)
    write_hats(
        path,
        files,
        n_workers,
        group_rows=group_rows,
        properties={
            "specir_simulated": "true: every row is a simulated galaxy, not an observation",
            "specir_simulator": label,
            "specir_sim_n": str(int(n)),
            "specir_sim_seed": str(int(seed)),
            "specir_sim_config": json.dumps(manifest["config"], separators=(",", ":")),
        },
    )
    if not keep_chunks:
        shutil.rmtree(work)
    return path
