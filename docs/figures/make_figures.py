"""Make the documentation's figures from real runs (written to ``docs/_static/``).

- ``pred_vs_true.png``: the shipped model's predicted W1–W4 against the simulated truth on a
  held-out simulated survey (another seed than the training survey);
- ``chi_hist.png``: the distribution of χ = (pred − obs) / σ_tot per band on the same set, with
  N(0, 1) for comparison;
- ``sky_map.png``: a HEALPix (order 7) map of the demo value-added catalog's galaxy counts;
- ``sdss_sed.png``: one real SDSS spectrum with the WISE fluxes ``predict_ir`` predicts for it.

Usage (from the repository root; the inputs are made by the commands in docs/modelcard.rst
and by ``specir demo``)::

    PYTHONPATH=. python docs/figures/make_figures.py --heldout data/sim/heldout \\
        --vac data/demo/vac --sdss ../shared/data/sdss
"""

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

OUT = Path(__file__).resolve().parents[1] / "_static"
BANDS = ("W1", "W2", "W3", "W4")


def heldout_figures(catalog):
    from specir.bands import mjy_to_mag
    from specir.bundle import load_bundle
    from specir.dataset import read_catalog_arrays, targets_from
    from specir.scoring import network_predictions

    bundle = load_bundle("default", device="cpu")
    data = read_catalog_arrays(catalog, progress=False)
    idx = np.arange(len(data["z"]))
    pred = network_predictions(bundle.model, data, idx)
    true = mjy_to_mag(data["flux_true"])
    fig, axes = plt.subplots(1, 4, figsize=(16, 4.2))
    for i, ax in enumerate(axes):
        ax.scatter(true[:, i], pred["mag_mu"][:, i], s=1.5, alpha=0.3, rasterized=True)
        lo, hi = np.nanpercentile(true[:, i], [0.5, 99.5])
        ax.plot([lo, hi], [lo, hi], "k--", lw=1)
        ax.set(xlim=(lo, hi), ylim=(lo, hi), title=BANDS[i])
        ax.set(xlabel="true magnitude [Vega]", ylabel="predicted [Vega]")
    fig.suptitle(f"specir default model on {len(idx)} held-out SIMULATED galaxies (seed 2)")
    fig.tight_layout()
    fig.savefig(OUT / "pred_vs_true.png", dpi=90)
    plt.close(fig)

    det = targets_from(data)[0]
    fig, axes = plt.subplots(1, 4, figsize=(16, 4))
    x = np.linspace(-5, 5, 201)
    for i, ax in enumerate(axes):
        d = det[:, i]
        chi = (pred["mag_mu"][d, i] - data["mag"][d, i]) / np.hypot(
            pred["mag_sig"][d, i], data["mag_err"][d, i]
        )
        ax.hist(np.clip(chi, -5, 5), bins=60, range=(-5, 5), density=True, histtype="step")
        ax.plot(x, np.exp(-0.5 * x**2) / np.sqrt(2 * np.pi), "k--", lw=1)
        ax.set(xlabel=f"χ {BANDS[i]}", yscale="log", ylim=(1e-4, 1))
        ax.set_title(f"{BANDS[i]}: χ²_N = {np.mean(chi**2):.2f} (n = {d.sum()})")
    fig.tight_layout()
    fig.savefig(OUT / "chi_hist.png", dpi=90)
    plt.close(fig)


def sky_map(vac, order=7):
    import cdshealpix
    import lsdb
    from astropy.coordinates import Longitude
    from hats.pixel_math.healpix_shim import radec2pix
    from matplotlib.collections import PolyCollection

    df = lsdb.open_catalog(vac, columns=["ra", "dec"]).compute()
    pix, counts = np.unique(
        radec2pix(order, df["ra"].to_numpy(), df["dec"].to_numpy()), return_counts=True
    )
    lon, lat = cdshealpix.nested.vertices(pix.astype(np.uint64), order)
    polys = [np.column_stack([Longitude(lo).deg, la.deg]) for lo, la in zip(lon, lat, strict=True)]
    fig, ax = plt.subplots(figsize=(7, 5))
    coll = PolyCollection(polys, array=counts, cmap="viridis", edgecolors="none")
    ax.add_collection(coll)
    ax.autoscale_view()
    ax.invert_xaxis()
    ax.set(xlabel="RA [deg]", ylabel="Dec [deg]", aspect="equal")
    ax.set_title(f"demo VAC: {len(df)} simulated galaxies, HEALPix order {order}")
    fig.colorbar(coll, ax=ax, label="galaxies per pixel")
    fig.tight_layout()
    fig.savefig(OUT / "sky_map.png", dpi=90)
    plt.close(fig)


def sdss_sed(sdss_dir):
    import astropy.units as u

    import specir

    path = sorted(Path(sdss_dir).glob("spec-*.fits"))[0]
    spec = specir.read_sdss(path)
    row = specir.predict_ir(spec)[0]
    wave_um = spec.spectral_axis.to_value("um")
    fnu = spec.flux.to(u.mJy, equivalencies=u.spectral_density(spec.spectral_axis))
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.plot(wave_um, fnu.value, lw=0.5, label=f"SDSS fibre spectrum {path.name}")
    lam = np.array([3.4, 4.6, 12.0, 22.0])
    flux = np.array([row[f"w{i}_flux"].value for i in range(1, 5)])
    err = np.array([row[f"w{i}_flux_err"].value for i in range(1, 5)])
    ax.errorbar(lam, flux, yerr=err, fmt="o", color="C3", label="predict_ir W1–W4 (total flux)")
    ax.set(xscale="log", yscale="log", xlabel="observed wavelength [µm]", ylabel="f_ν [mJy]")
    ax.set_title(f"z = {spec.meta['z']:.3f}; flags = {int(row['flags'])} (no total r magnitude)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(OUT / "sdss_sed.png", dpi=90)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--heldout", help="held-out simulated HATS catalog")
    parser.add_argument("--vac", help="demo value-added catalog")
    parser.add_argument("--sdss", help="folder with real SDSS spec-*.fits files")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    if args.heldout:
        heldout_figures(args.heldout)
    if args.vac:
        sky_map(args.vac)
    if args.sdss:
        sdss_sed(args.sdss)


if __name__ == "__main__":
    main()
