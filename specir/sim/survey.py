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

from specir.constants import C_KMS
from specir.errors import SpecIRInputError
from specir.grid import GRID_NPIX
from specir.sim.agn import agn_optical, torus
from specir.sim.config import SimConfig
from specir.sim.cosmo import luminosity_distance_cm
from specir.sim.observe import fiber_fraction, observe_spectrum, observe_wise
from specir.sim.photometry import BAND_ORDER, band_fluxes_mjy
from specir.sim.population import draw_population

__all__ = ["DEFAULT_GALAXY", "model_photometry", "simulate", "simulate_chunk", "write_survey"]

logger = logging.getLogger(__name__)

_SED = None  # one bagpipes model per process


def _sed():
    global _SED
    if _SED is None:
        from specir.sim.sed import GalaxySED

        _SED = GalaxySED()
    return _SED


def _check_n_seed(n, seed):
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise SpecIRInputError("n", f"must be a positive integer, got {n!r}", "pass n >= 1")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise SpecIRInputError(
            "seed", f"must be a non-negative integer, got {seed!r}", "pass an integer seed >= 0"
        )


def _chunk_seeds(seed, n_chunks):
    return np.random.SeedSequence(int(seed)).spawn(n_chunks)


def observe_galaxy(params, sed, rng, config):
    """Model and observe one galaxy; ``None`` when it fails the main-sample cut."""
    z = float(params["z"])
    flam_gal, truth = sed.compute(params)
    wave_obs = sed.wave_rest * (1.0 + z)
    inst_sigma = C_KMS / config.sdss.resolution / 2.3548
    if params["agn_type"] > 0:
        dfac = 1.0 / (4.0 * np.pi * luminosity_distance_cm(z) ** 2 * (1.0 + z))
        flam_agn = agn_optical(sed.wave_rest, params, instrument_sigma_kms=inst_sigma) * dfac
        flam_torus = torus(sed.wave_rest, params) * dfac
    else:
        flam_agn = flam_torus = np.zeros_like(flam_gal)
    fnu = band_fluxes_mjy(wave_obs, flam_gal + flam_agn + flam_torus)
    modelmag = -2.5 * np.log10(np.clip(fnu[:5], 1e-30, None) / 3631e3)
    if not modelmag[2] < config.sdss.r_limit:
        return None
    sigma = float(np.hypot(params["veldisp"], inst_sigma))
    flux, ivar, mask = observe_spectrum(
        wave_obs,
        flam_gal,
        flam_agn,
        sigma,
        sed.dlnlam,
        sed.spec_slice,
        float(params["fiber_frac"]),
        rng,
        config.sdss,
    )
    row = {f"modelmag_{b}": modelmag[i] for i, b in enumerate(BAND_ORDER[:5])}
    row.update({f"{b}_flux_true": fnu[5 + i] for i, b in enumerate(BAND_ORDER[5:])})
    row.update(log_mstar_true=truth["log_mstar"], log_sfr_true=truth["log_sfr"])
    return row, flux, ivar, mask


DEFAULT_GALAXY = {
    "z": 0.1,
    "age": 8.0,
    "tau": 2.0,
    "log_massformed": 10.7,
    "z_star": 1.0,
    "z_gas": 1.0,
    "av": 0.5,
    "eta": 2.0,
    "qpah": 2.5,
    "umin": 1.0,
    "gamma": 0.01,
    "log_u": -3.0,
    "veldisp": 120.0,
    "fiber_frac": 0.4,
    "agn_type": 0,
    "log_lagn": np.nan,
    "log_mbh": 7.5,
    "log_oiii": 41.0,
    "t_hot": 1200.0,
    "t_warm": 250.0,
    "f_hot": 0.15,
    "f_warm": 0.25,
    "oiii_hb": 10.0,
    "nii_ha": 1.0,
    "oii_oiii": 0.3,
    "sii_ha": 0.4,
    "oi_ha": 0.1,
    "nlr_sigma": 200.0,
    "av_lines": 1.0,
}
"""Parameters of one reference galaxy (a main-sequence disc at z = 0.1, log M* ≈ 10.45,
SFR ≈ 2 Msun/yr) for :func:`model_photometry`; the keys are those drawn by
:mod:`specir.sim.population`."""


def model_photometry(**params):
    """Noise-free photometry of one galaxy at fixed parameters (no sample cut).

    Keyword arguments override :data:`DEFAULT_GALAXY`; ``log_oiii`` follows ``log_lagn`` via
    L_bol = 3500 L[O III] unless given.

    Returns
    -------
    dict
        ``modelmag_u``...``modelmag_z`` (AB), ``w1_flux_true``...``w4_flux_true`` (mJy),
        ``w1_mag``...``w4_mag`` (Vega), ``log_mstar``, ``log_sfr``.

    Examples
    --------
    >>> ph = model_photometry(qpah=4.0)
    >>> ph["w2_mag"] - ph["w3_mag"] > 2
    True
    """
    from specir.bands import mjy_to_mag

    p = {**DEFAULT_GALAXY, **params}
    if "log_oiii" not in params and np.isfinite(p["log_lagn"]):
        p["log_oiii"] = p["log_lagn"] - np.log10(3500.0)
    unknown = set(params) - set(DEFAULT_GALAXY)
    if unknown:
        raise SpecIRInputError(
            sorted(unknown)[0], "is not a galaxy parameter", f"use one of {sorted(DEFAULT_GALAXY)}"
        )
    sed = _sed()
    z = float(p["z"])
    flam, truth = sed.compute(p)
    if p["agn_type"] > 0:
        dfac = 1.0 / (4.0 * np.pi * luminosity_distance_cm(z) ** 2 * (1.0 + z))
        flam = flam + (agn_optical(sed.wave_rest, p) + torus(sed.wave_rest, p)) * dfac
    fnu = band_fluxes_mjy(sed.wave_rest * (1.0 + z), flam)
    out = {f"modelmag_{b}": -2.5 * np.log10(fnu[i] / 3631e3) for i, b in enumerate(BAND_ORDER[:5])}
    mags = mjy_to_mag(fnu[5:])
    for i, b in enumerate(BAND_ORDER[5:]):
        out[f"{b}_flux_true"] = fnu[5 + i]
        out[f"{b}_mag"] = float(mags[i])
    out.update(log_mstar=truth["log_mstar"], log_sfr=truth["log_sfr"])
    return out


def simulate_chunk(index, n, seed_seq, config):
    """Generate chunk ``index`` with ``n`` galaxies passing the main-sample cut (a DataFrame)."""
    import pandas as pd

    rng = np.random.default_rng(seed_seq)
    sed = _sed()
    rows, fluxes, ivars, masks, params_kept = [], [], [], [], []
    while len(rows) < n:
        batch = max(16, int(1.3 * (n - len(rows))))
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
            row, flux, ivar, mask = out
            rows.append(row)
            fluxes.append(flux)
            ivars.append(ivar)
            masks.append(mask)
            params_kept.append(p)
            if len(rows) == n:
                break
    df = pd.DataFrame(rows)
    wise = observe_wise(df[[f"w{b}_flux_true" for b in range(1, 5)]].to_numpy(), rng, config.wise)
    first = index * config.chunk_size
    pk = {k: np.array([p[k] for p in params_kept]) for k in params_kept[0]}
    agn_type = pk["agn_type"].astype(np.int8)
    out = pd.DataFrame(
        {
            "id": np.arange(first, first + n, dtype=np.int64),
            "ra": pk["ra"],
            "dec": pk["dec"],
            "z": pk["z"],
            **wise,
            **{c: df[c].to_numpy() for c in df.columns if c.endswith("_flux_true")},
            "log_lagn_true": np.where(agn_type > 0, pk["log_lagn"], np.nan),
            "agn_type_true": agn_type,
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
            **{c: df[c].to_numpy() for c in df.columns if c.startswith("modelmag_")},
        }
    )
    out["flux"] = list(np.stack(fluxes))
    out["ivar"] = list(np.stack(ivars))
    out["mask"] = list(np.stack(masks))
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


def _arrow_table(df):
    import pyarrow as pa

    cols = {}
    for c in df.columns:
        if c in ("flux", "ivar", "mask"):
            arr = np.stack(df[c].to_numpy())
            typ = pa.bool_() if c == "mask" else pa.float32()
            flat = pa.array(
                arr.reshape(-1).astype(np.bool_ if c == "mask" else np.float32), type=typ
            )
            cols[c] = pa.FixedSizeListArray.from_arrays(flat, GRID_NPIX)
        else:
            cols[c] = pa.array(df[c].to_numpy())
    return pa.table(cols)


def _run_chunk(args):
    index, n, seed_seq, config, path = args
    import pyarrow.parquet as pq

    df = simulate_chunk(index, n, seed_seq, config)
    tmp = path.with_suffix(".tmp")
    pq.write_table(_arrow_table(df), tmp)
    os.replace(tmp, path)
    return index


def write_survey(
    path, *, n, seed, config=None, n_workers=None, keep_chunks=False, group_rows=20_000
):
    """Simulate a survey in parallel and write it as a HATS catalog at ``path``.

    Chunks go to ``<path>_chunks/`` as Parquet; a rerun with the same ``n``, ``seed`` and
    configuration reuses finished chunks. The HATS catalog is then built from the chunk files
    with lsdb on a local Dask cluster, in groups of bounded size (see :func:`_write_hats`), so
    nothing holds the whole survey in memory.

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
    from tqdm.auto import tqdm

    config = config or SimConfig()
    _check_n_seed(n, seed)
    path = Path(path)
    if path.exists():
        raise SpecIRInputError("out", f"{path} already exists", "choose a new output path")
    n_workers = n_workers or os.cpu_count() or 1
    work = path.parent / f"{path.name}_chunks"
    work.mkdir(parents=True, exist_ok=True)
    manifest = {"n": int(n), "seed": int(seed), "config": dataclasses.asdict(config)}
    mpath = work / "manifest.json"
    if mpath.exists():
        old = json.loads(mpath.read_text())
        if old != json.loads(json.dumps(manifest)):
            raise SpecIRInputError(
                "out",
                f"{work} holds chunks of a different run",
                "remove that folder or use the same n, seed and config",
            )
    else:
        mpath.write_text(json.dumps(manifest, indent=1))
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
    from specir import __version__

    _write_hats(
        path,
        files,
        n_workers,
        group_rows=group_rows,
        properties={
            "specir_simulated": "true: every row is a simulated galaxy, not an observation",
            "specir_simulator": f"specir.sim {__version__}",
            "specir_sim_n": str(int(n)),
            "specir_sim_seed": str(int(seed)),
            "specir_sim_config": json.dumps(manifest["config"], separators=(",", ":")),
        },
    )
    if not keep_chunks:
        shutil.rmtree(work)
    return path


def _partition_order(files, *, target_rows=1500, max_order=8):
    """The HEALPix order whose occupied pixels hold about ``target_rows`` galaxies each."""
    import pyarrow.parquet as pq
    from hats.pixel_math.healpix_shim import radec2pix

    ra = np.concatenate([pq.read_table(f, columns=["ra"])["ra"].to_numpy() for f in files])
    dec = np.concatenate([pq.read_table(f, columns=["dec"])["dec"].to_numpy() for f in files])
    order = 0
    for k in range(max_order + 1):
        counts = np.unique(radec2pix(k, ra, dec), return_counts=True)[1]
        if np.median(counts) < target_rows:
            break
        order = k
    return order


def _chunk_frame(files):
    """Chunk files as one DataFrame with Arrow-backed (fixed-size list) spectrum columns."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.concat_tables([pq.read_table(f) for f in files])
    return table.to_pandas(types_mapper=pd.ArrowDtype)


def _write_hats(path, files, n_workers, *, group_rows=20_000, properties=None):
    """Partition the chunk files into a HATS catalog with lsdb.

    Groups of chunks (about ``group_rows`` galaxies, a bounded amount of memory) are each turned
    into a catalog with :func:`lsdb.from_dataframe` at one fixed HEALPix order and written with
    ``write_catalog`` to a temporary folder; the groups are then joined pixel by pixel with
    ``Catalog.concat`` (lazily, from disk) and written once more as the final catalog.
    """
    import lsdb

    from specir.cluster import dask_client

    order = _partition_order(files)
    sizes = [_pq_rows(f) for f in files]
    groups, current, rows = [], [], 0
    for f, m in zip(files, sizes, strict=True):
        current.append(f)
        rows += m
        if rows >= group_rows:
            groups.append(current)
            current, rows = [], 0
    if current:
        groups.append(current)
    tmp = path.parent / f"{path.name}_tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    kwargs = dict(ra_column="ra", dec_column="dec", lowest_order=order, highest_order=order)
    props = dict(properties or {})
    with dask_client(workers=n_workers):
        if len(groups) == 1:
            cat = lsdb.from_dataframe(_chunk_frame(groups[0]), **kwargs)
        else:
            parts = []
            for i, group in enumerate(groups):
                lsdb.from_dataframe(_chunk_frame(group), **kwargs).write_catalog(
                    tmp / f"group_{i:04d}", catalog_name=f"group_{i}", as_collection=False
                )
                parts.append(lsdb.open_catalog(tmp / f"group_{i:04d}"))
            cat = parts[0]
            for part in parts[1:]:
                cat = cat.concat(part)
        cat = cat.map_partitions(_sort_partition)
        cat.write_catalog(
            path,
            catalog_name=path.name,
            as_collection=False,
            addl_hats_properties=props,
        )
    shutil.rmtree(tmp, ignore_errors=True)


def _sort_partition(df):
    """Rows in spatial-index order (concatenated groups arrive one after the other)."""
    return df.sort_index(kind="stable")


def _pq_rows(path):
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows
