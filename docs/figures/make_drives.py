"""Write the numbers and figures of docs/drives.rst from the analyses' own outputs.

Reads ``attribution.json`` and the PNGs written by ``specir attribute`` and ``sedfit.json``
written by ``specir sedfit`` (and, with ``--information``, measures the feature-information
table of :mod:`specir.analysis.information` on a simulated catalog), and writes
``drives_attribution.inc``, ``drives_information.inc``, ``drives_sedfit.inc`` (and, with
``--attribution-zbins``, ``drives_attribution_zbins.inc``; with ``--sedfit-control``,
``drives_sedfit_control.inc``) under
``docs/generated/drives/``, and ``docs/_static/drives_*.png``.
Nothing is typed by hand: the page includes these files.

Usage (from the repository root, after the commands in docs/drives.rst)::

    PYTHONPATH=. python docs/figures/make_drives.py --attribution data/attr \\
        --sedfit data/sedfit --information data/heldout
"""

import argparse
import json
import shutil
from pathlib import Path

from specir.analysis.report import attribution_rst, information_rst, sedfit_rst

DOCS = Path(__file__).resolve().parents[1]
FIGURES = ("all", "star_forming", "quiescent", "agn", "no_total_mag")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attribution", type=Path, help="output folder of specir attribute")
    parser.add_argument(
        "--attribution-zbins",
        type=Path,
        help="output folder of a larger specir attribute run for the redshift-bin checks",
    )
    parser.add_argument("--sedfit", type=Path, help="output folder of specir sedfit")
    parser.add_argument(
        "--sedfit-control",
        type=Path,
        help="folder holding the sedfit.json of a run scored with the matched set-up alone",
    )
    parser.add_argument(
        "--information", type=Path, help="simulated catalog: the feature-information table"
    )
    args = parser.parse_args(argv)
    gen = DOCS / "generated" / "drives"
    gen.mkdir(exist_ok=True)
    if args.attribution:
        report = json.loads((args.attribution / "attribution.json").read_text())
        (gen / "drives_attribution.inc").write_text(attribution_rst(report) + "\n")
        for name in FIGURES:
            src = args.attribution / f"attribution_{name}.png"
            if src.exists():
                shutil.copyfile(src, DOCS / "_static" / f"drives_{name}.png")
    if args.attribution_zbins:
        report = json.loads((args.attribution_zbins / "attribution.json").read_text())
        (gen / "drives_attribution_zbins.inc").write_text(_zbins(report) + "\n")
    if args.information:
        (gen / "drives_information.inc").write_text(_information(args.information) + "\n")
    for folder, name in ((args.sedfit, "sedfit"), (args.sedfit_control, "sedfit_control")):
        if folder:
            report = json.loads((folder / "sedfit.json").read_text())
            text = f"Fitted galaxies of the {_survey(report['catalog'])}. " + sedfit_rst(report)
            (gen / f"drives_{name}.inc").write_text(text + "\n")


def _survey(catalog):
    from specir.evaluate import describe_catalog

    return describe_catalog(catalog)


def _zbins(report):
    """The redshift-bin groups of a run (the star-forming bins and the class they split)."""
    groups = report["groups"]
    keep = [g for g in groups if g == "star_forming" or g.startswith("star_forming_z")]
    report = {**report, "groups": {g: groups[g] for g in keep}}
    return attribution_rst(report)


def _information(catalog):
    from specir.analysis.attribute_run import galaxy_class
    from specir.analysis.information import information_table
    from specir.dataset import read_catalog_arrays

    data = read_catalog_arrays(catalog, progress=False)
    report = {"information": information_table(data, galaxy_class(data))}
    head = f"Measured on all {len(data['z'])} galaxies of the {_survey(catalog)}."
    return head + "\n\n" + information_rst(report)


if __name__ == "__main__":
    main()
