"""Stand-ins for the real services: TAP tables with the real schemas, a SAS-like file tree.

The TAP tables carry Astro Data Lab's schema and table names (``sdss_dr17.specobj``,
``sdss_dr17.photoobj``, the pre-crossmatch ``sdss_dr17.x1p5__specobj__allwise__source`` and
``allwise.source``). Their SDSS rows include the plate/mjd/fiberid, position, redshift and
identifiers of the 12 real spectra in ``../shared/data/sdss``; every other row, and every
WISE and photometry value, is SYNTHETIC (drawn from a seeded generator).
"""

import os
import socket
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[2]

N_ROWS = 300
MISSING_PLATE = 9999  # a galaxy that passes the selection but has no file on the server


def cli_env():
    """Environment of a ``python -m specir.scripts.main`` subprocess running this checkout."""
    return {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}


def free_port():
    """A TCP port on loopback that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run2d_of(path):
    """The ``RUN2D`` of a real spectrum file (its HDU 2 column; SDSS-I/II lite files: 26)."""
    from astropy.io import fits

    with fits.open(path) as h:
        hdu = h[2]
        return str(hdu.data["RUN2D"][0]).strip() if "RUN2D" in hdu.columns.names else "26"


def _real_rows(sdss_files):
    from specir.sdss import read_sdss

    rows = []
    for f in sdss_files:
        m = read_sdss(f).meta
        run2d = run2d_of(f)
        rows.append(
            dict(
                specobjid=int(m["specobjid"]),
                plate=int(m["plate"]),
                mjd=int(m["mjd"]),
                fiberid=int(m["fiberid"]),
                run2d=run2d,
                ra=float(m["ra"]),
                dec=float(m["dec"]),
                z=float(m["z"]),
                zwarning=int(m["z_warning"]),
                **{"class": str(m["class"])},
            )
        )
    return rows


def _specobj(rng, sdss_files):
    spec = _real_rows(sdss_files)
    n_fake = N_ROWS - len(spec)
    # synthetic rows that the selection must drop (stars, quasars, bad redshifts), and one
    # selected galaxy whose spectrum the archive does not have
    kinds = np.array(["STAR", "QSO", "GALAXY"])[rng.integers(0, 3, n_fake)]
    for i in range(n_fake):
        cls = kinds[i]
        zwarn = 0 if cls != "GALAXY" else 4
        if i == 0:
            cls, zwarn = "GALAXY", 0
        spec.append(
            dict(
                specobjid=10**17 + i,
                plate=MISSING_PLATE if i == 0 else 8000 + i,
                mjd=56000 + i,
                fiberid=1 + i % 1000,
                run2d="v5_13_2",
                ra=float(rng.uniform(120, 240)),
                dec=float(rng.uniform(-5, 60)),
                z=float(rng.uniform(0.0, 0.5)),
                zwarning=zwarn,
                **{"class": str(cls)},
            )
        )
    specobj = pd.DataFrame(spec)
    specobj["bestobjid"] = 1_237_000_000_000_000_000 + np.arange(len(specobj))
    specobj["zerr"] = 1e-4
    return specobj


def tap_tables(sdss_files, *, seed=7):
    """DataFrames of the four fixture tables, keyed by their published names."""
    rng = np.random.default_rng(seed)
    specobj = _specobj(rng, sdss_files)
    photoobj = pd.DataFrame(
        {
            "objid": specobj["bestobjid"],
            "ra": specobj["ra"],
            "dec": specobj["dec"],
            "modelmag_r": rng.uniform(14.0, 17.7, len(specobj)),  # synthetic
        }
    )
    # AllWISE counterparts (synthetic values) for all but a few objects; two for one galaxy
    has_wise = rng.uniform(size=len(specobj)) > 0.05
    has_wise[: len(sdss_files)] = True
    has_wise[len(sdss_files)] = True
    idx = np.flatnonzero(has_wise)
    dist = rng.uniform(0.05, 1.4, len(idx))
    xm_ids = list(zip(specobj["specobjid"].to_numpy()[idx], idx, dist, strict=True))
    xm_ids.append((int(specobj["specobjid"][0]), len(specobj), 1.45))  # a farther second match
    wise_rows = []
    for k, (_, i, d) in enumerate(xm_ids):
        src = specobj.iloc[min(i, len(specobj) - 1)]
        w = dict(
            source_id=f"{k:04d}p000_ac51-{k:06d}",
            ra=float(src["ra"]) + d / 3600.0,
            dec=float(src["dec"]),
            ph_qual="AAAU" if k % 3 else "AABU",
            cc_flags="0000",
            ext_flg=int(k % 2),
        )
        for b, (lo, hi) in enumerate([(11, 15), (11, 15), (8, 12.5), (6, 9)], start=1):
            w[f"w{b}mpro"] = float(rng.uniform(lo, hi))
            w[f"w{b}sigmpro"] = float(rng.uniform(0.02, 0.3)) if b < 4 or k % 3 else np.nan
            w[f"w{b}snr"] = float(rng.uniform(3, 60)) if b < 4 or k % 3 else 1.2
        wise_rows.append(w)
    allwise = pd.DataFrame(wise_rows)
    xmatch = pd.DataFrame(
        {
            "id1": [int(a) for a, _, _ in xm_ids],
            "ra1": [float(specobj["ra"][min(i, len(specobj) - 1)]) for _, i, _ in xm_ids],
            "dec1": [float(specobj["dec"][min(i, len(specobj) - 1)]) for _, i, _ in xm_ids],
            "id2": allwise["source_id"],
            "ra2": allwise["ra"],
            "dec2": allwise["dec"],
            "distance": [float(d) for _, _, d in xm_ids],
        }
    )
    return {
        "sdss_dr17.specobj": (specobj, "ra", "dec"),
        "sdss_dr17.photoobj": (photoobj, "ra", "dec"),
        "sdss_dr17.x1p5__specobj__allwise__source": (xmatch, "ra1", "dec1"),
        "allwise.source": (allwise, "ra", "dec"),
    }


def write_tap_tables(sdss_files, folder):
    """Write the fixture tables as HATS catalogs; returns ``SCHEMA.TABLE=PATH`` arguments."""
    import lsdb

    args = []
    for name, (df, ra, dec) in tap_tables(sdss_files).items():
        path = folder / name.replace(".", "__")
        cat = lsdb.from_dataframe(df, ra_column=ra, dec_column=dec, lowest_order=0, highest_order=2)
        cat.write_catalog(path, catalog_name=name.split(".")[1], as_collection=False)
        args.append(f"{name}={path}")
    return args
