"""Check that the shipped bundle's predictions did not change across a refactoring.

Run it once with the old code to write the predictions, once with the new code to compare::

    PYTHONPATH=OLD_CHECKOUT python benchmarks/check_predictions.py --catalog SURVEY \
        --write before.npz
    PYTHONPATH=. python benchmarks/check_predictions.py --catalog SURVEY --compare before.npz

It predicts, with the shipped ``default`` bundle on the CPU, (1) the real SDSS spectra that
:func:`specir.testing.sdss_data_dir` finds, through ``read_sdss`` and ``predict_ir``, with and
without a total r-band magnitude; (2) the first ``--n`` rows of a simulated HATS survey (pixels in
the catalog's order), as specutils spectra through ``predict_ir`` with the catalog's
``modelmag_r``, and as arrays through ``prepare_grid_arrays`` and ``predict_prepared`` without
it. Only public functions present before and after the restructuring are used. The comparison
fails (exit status 1) when any magnitude, error, flux, log L_AGN or q_PAH differs by more than
``--tol`` (default 1e-6; magnitudes in mag) or any flag or NaN pattern differs. Nothing it
writes is committed: the file is a record of one code version's output, not a reference.
"""

import argparse
import logging
import sys

import numpy as np

COMPARED = ("mag", "mag_err", "flux", "flux_err", "log_lagn", "log_lagn_err", "q_pah", "q_pah_err")


def _survey_rows(catalog, n):
    """flux, ivar, mask, z, modelmag_r of the first ``n`` rows, pixels in the catalog's order."""
    import hats
    import pyarrow.parquet as pq
    from hats.io.paths import pixel_catalog_file

    cat = hats.read_hats(catalog)
    cols = ["flux", "ivar", "mask", "z", "modelmag_r"]
    got = {c: [] for c in cols}
    have = 0
    for pixel in cat.get_healpix_pixels():
        table = pq.read_table(str(pixel_catalog_file(cat.catalog_base_dir, pixel)), columns=cols)
        for c in cols:
            col = table.column(c)
            if c in ("flux", "ivar", "mask"):
                values = col.combine_chunks().flatten().to_numpy(zero_copy_only=False)
                got[c].append(values.reshape(len(table), -1))
            else:
                got[c].append(col.to_numpy())
        have += len(table)
        if have >= n:
            break
    return {c: np.concatenate(v)[:n] for c, v in got.items()}


def _columns(table, prefix):
    """The compared columns of a prediction table, as float arrays keyed ``prefix/name``."""
    out = {f"{prefix}/flags": np.asarray(table["flags"], dtype=np.int64)}
    for name in table.colnames:
        base = name.split("_", 1)[1] if name[:1] == "w" and name[1:2].isdigit() else name
        if base in COMPARED:
            out[f"{prefix}/{name}"] = np.asarray(getattr(table[name], "value", table[name]), float)
    return out


def predictions(catalog, n):
    """Every compared prediction, as a dict of arrays."""
    import astropy.units as u
    from astropy.nddata import InverseVariance
    from specutils import Spectrum

    from specir import predict_ir, read_sdss
    from specir.grid import grid_wavelength
    from specir.predict import predict_prepared
    from specir.spectra import prepare_grid_arrays
    from specir.testing import sdss_data_dir

    out = {}
    folder = sdss_data_dir()
    if folder is None:
        sys.exit("no real SDSS spectra found (set SPECIR_TEST_DATA)")
    spectra = [read_sdss(p) for p in sorted(folder.glob("spec-*.fits"))]
    out.update(_columns(predict_ir(spectra, device="cpu"), "sdss"))
    out.update(_columns(predict_ir(spectra, r_mag=17.0, device="cpu"), "sdss_rmag17"))
    rows = _survey_rows(catalog, n)
    wave = grid_wavelength() * u.AA
    unit = 1e-17 * u.erg / (u.s * u.cm**2 * u.AA)
    sim = [
        Spectrum(
            flux=rows["flux"][i] * unit,
            spectral_axis=wave,
            uncertainty=InverseVariance(rows["ivar"][i] / unit**2),
            mask=rows["mask"][i].astype(bool),
        )
        for i in range(len(rows["z"]))
    ]
    table = predict_ir(sim, z=rows["z"], r_mag=rows["modelmag_r"], device="cpu")
    out.update(_columns(table, "sim_spectra"))
    prep = prepare_grid_arrays(rows["flux"], rows["ivar"], rows["z"], mask=rows["mask"] != 0)
    out.update(_columns(predict_prepared(prep, device="cpu"), "sim_arrays"))
    out["n_sdss"], out["n_sim"] = np.array(len(spectra)), np.array(len(sim))
    return out


def compare(before, after, tol):
    """Differences larger than ``tol`` (or in flags / NaN pattern), as printable lines."""
    problems = []
    for key in sorted(set(before) | set(after)):
        if key not in before or key not in after:
            problems.append(f"{key}: present in only one run")
            continue
        a, b = np.asarray(before[key]), np.asarray(after[key])
        if a.shape != b.shape:
            problems.append(f"{key}: shape {a.shape} vs {b.shape}")
        elif a.dtype.kind in "iu":
            if not np.array_equal(a, b):
                problems.append(f"{key}: {int((a != b).sum())} rows differ")
        elif not np.array_equal(np.isnan(a), np.isnan(b)):
            problems.append(f"{key}: NaN pattern differs")
        else:
            d = np.nanmax(np.abs(a - b), initial=0.0)
            if d > tol:
                problems.append(f"{key}: max |difference| {d:.3g} > {tol:g}")
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--catalog", required=True, help="simulated HATS survey")
    parser.add_argument("--n", type=int, default=1000, help="simulated rows (default 1000)")
    parser.add_argument("--tol", type=float, default=1e-6)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", help="write the predictions to this .npz")
    group.add_argument("--compare", help="compare with predictions written by --write")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    now = predictions(args.catalog, args.n)
    if args.write:
        np.savez_compressed(args.write, **now)
        logging.info("wrote %d arrays to %s", len(now), args.write)
        return 0
    before = dict(np.load(args.compare))
    problems = compare(before, now, args.tol)
    for line in problems:
        logging.error(line)
    worst = max(
        (np.nanmax(np.abs(before[k] - now[k]), initial=0.0) for k in now if k in before),
        default=0.0,
    )
    logging.info(
        "%d real and %d simulated spectra; largest difference %.3g; %s",
        int(now["n_sdss"]),
        int(now["n_sim"]),
        worst,
        "FAILED" if problems else f"same to {args.tol:g}",
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
