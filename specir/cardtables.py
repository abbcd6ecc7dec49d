"""Tables and sentences written from a model card, so that no metric in the docs is typed by hand.

``specir evaluate ... --write-card`` stores the held-out evaluation in the bundle's
``model_card.json`` (``heldout_evaluation``). :func:`heldout_rst` renders it for
``docs/modelcard.rst`` and :func:`readme_summary` for ``README.md``; each lands between two
marker lines (:func:`replace_block`). ``docs/make_card_tables.py`` rewrites both files from the
shipped card, and a test fails when either differs from what the card says.

Examples
--------
>>> replace_block("a\\n<!-- BEGIN x -->\\nold\\n<!-- END x -->\\nb", "x", "new", style="md")
'a\\n<!-- BEGIN x -->\\n\\nnew\\n\\n<!-- END x -->\\nb'
"""

from pathlib import Path

from specir.bands import BAND_NAMES
from specir.cardverdicts import (
    acceptance_lines,
    agn_group_lines,
    fmt_value,
    per_band,
    stress_lines,
)
from specir.columns import AGN_THRESHOLD
from specir.errors import SpecIRInputError

__all__ = [
    "METHOD_LABELS",
    "heldout_rst",
    "readme_summary",
    "render",
    "replace_block",
    "stress_rst",
]

METHOD_LABELS = {
    "model": "model (spectrum + total r)",
    "model_without_r_mag": "model, r magnitude withheld",
    "photometry": "photometry only (synthetic ugriz of the spectrum + total r)",
    "photometry_total": "total ugriz magnitudes (all five, noiseless)",
    "pca_rf": "random forest on spectrum PCA",
    "train_mean": "training mean",
    "ceiling_optical_truths": "ceiling: trees fed the optical truths (NMAD only)",
    "ceiling_all_truths": "ceiling: trees fed the optical and dust-emission truths",
}
"""Row labels of the held-out table, in order (methods absent from the card are left out)."""

_MARKERS = {"rst": (".. BEGIN {}", ".. END {}"), "md": ("<!-- BEGIN {} -->", "<!-- END {} -->")}


def _cell(band, ceiling):
    if ceiling:
        return fmt_value(band.get("nmad"), ".3f")
    chi2, cov = band.get("chi2_n"), band.get("coverage_68")
    cov = "n/a" if cov is None else f"{100 * cov:.0f}%"
    return f"{fmt_value(chi2, '.2f')} / {cov} / {fmt_value(band.get('nmad'), '.3f')}"


def _table(methods):
    rows = [
        [label] + [_cell(methods[m]["bands"][b], m.startswith("ceiling")) for b in BAND_NAMES]
        for m, label in METHOD_LABELS.items()
        if m in methods
    ]
    head = ["method", *(b.upper() for b in BAND_NAMES)]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    rule = "  ".join("=" * w for w in widths)
    lines = [rule, "  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)), rule]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return [*[line.rstrip() for line in lines], rule]


def _also(ev):
    m = ev["methods"]["model"]
    colours = ", ".join(
        f"{k.upper().replace('_', '−')} {v['nmad']:.3f}" for k, v in m["colours"].items()
    )
    out = [f"Colour residual NMAD (mag): {colours}."]
    if m.get("log_lagn", {}).get("n"):
        g = m["log_lagn"]
        out.append(
            f"log L_AGN over the {g['n']} true AGN: NMAD {g['nmad']:.2f} dex, "
            f"χ²_N {g['chi2_n']:.2f}, 68% coverage {100 * g['coverage_68']:.0f}%."
        )
    if m.get("agn_visible_fraction") is not None:
        share = m["agn_visible_fraction"]
        out.append(
            f"AGN presence (p_agn ≥ {AGN_THRESHOLD:g} against a visible simulated AGN): "
            f"{100 * m['agn_presence_accuracy']:.1f}% right; {100 * share:.1f}% of the galaxies "
            f'host a visible AGN, so answering "none" throughout would be '
            f"{100 * (1 - share):.1f}% right."
        )
    if m.get("q_pah", {}).get("n"):
        q, mean = m["q_pah"], ev["methods"]["train_mean"].get("q_pah", {})
        out.append(
            f"q_PAH: NMAD {q['nmad']:.2f} percentage points (training mean: "
            f"{fmt_value(mean.get('nmad'), '.2f')}), χ²_N {q['chi2_n']:.2f}."
        )
    ratio = ev["nmad_ratio_vs_photometry"]
    out.append(f"NMAD ratio model ÷ photometry-only: {per_band(ratio[b] for b in BAND_NAMES)}.")
    return out


def heldout_rst(card: dict) -> str:
    """The held-out section of ``docs/modelcard.rst`` (table, other metrics, provenance)."""
    ev = _evaluation(card)
    bands = ev["methods"]["model"]["bands"]
    trained = ev["baselines_trained_on"]
    lines = [
        "Each cell: χ²_N / 68% coverage / NMAD (mag) over WISE detections; measured on the "
        f"{ev['n_eval']} rows ({ev['scored_rows']}) of the {ev['measured_on']} (detected in "
        f"{', '.join(b.upper() for b in BAND_NAMES)}: "
        f"{', '.join(str(bands[b]['n']) for b in BAND_NAMES)}).",
        "",
        *_table(ev["methods"]),
        "",
        *_also(ev),
        "",
        "Against the acceptance targets:",
        "",
        *acceptance_lines(ev),
        *agn_group_lines(ev),
        *stress_rst(card),
        *_other_heldout(card),
        "",
        f"The baselines were trained in the same run on {trained['n_train']} rows "
        f"(validation: {trained['n_val']}) of the {trained['description']}, for at most "
        f"{trained['epochs']} epochs; measured {ev.get('measured_utc', 'n/a')} with code "
        f"{ev.get('code_commit') or 'n/a'}; the command: ``{ev.get('command', 'n/a')}``.",
        *_caution(card, trained),
        *_training(card),
    ]
    return "\n".join(lines)


def stress_rst(card: dict) -> list:
    """Lines on the stress tests of the card (cut spectra, scaling, nearby galaxies)."""
    return stress_lines(_evaluation(card), card.get("heldout_lowz"))


def _other_heldout(card):
    """The same judgement on any further held-out surveys (``heldout_<name>`` but lowz)."""
    lines = []
    for key in sorted(card):
        other = card[key]
        if key in ("heldout_evaluation", "heldout_lowz") or not key.startswith("heldout_"):
            continue
        if not isinstance(other, dict) or "methods" not in other:
            continue
        lines += [
            "",
            f"On a further held-out survey (``{key}``): {other['n_eval']} rows of the "
            f"{other['measured_on']}, scored by ``{other.get('command', 'n/a')}``:",
            "",
            *_table(other["methods"]),
            "",
            *acceptance_lines(other),
            *agn_group_lines(other),
        ]
    return lines


def _training(card):
    seconds, history = card.get("train_seconds"), card.get("history") or []
    if seconds is None:
        return []
    hw = card.get("train_hardware")
    where = (
        ""
        if not hw
        else (
            f" on {hw['gpu'] or hw['cpu']} ({hw['device']}; {hw['cores']} cores, "
            f"{hw['torch_threads']} torch threads)"
        )
    )
    return [
        "",
        f"Training took {seconds / 60:.0f} min wall{where}: {len(history)} epochs, best "
        f"{card.get('best_epoch')} (``train_seconds`` and ``history`` in the card).",
    ]


def _caution(card, trained):
    n_model = card.get("training_data", {}).get("n_train")
    if not n_model or trained["n_train"] >= n_model:
        return []
    return [
        "",
        f"**Caution:** the baselines and the ceilings learnt from {trained['n_train']} rows, the "
        f"model from {n_model}. Every comparison with them (the NMAD ratios, the W3/W4 "
        "targets derived from the photometry-only baseline, the ceilings) therefore favours "
        "the model; only the model's own rows (calibration, scatter) stand on their own.",
    ]


def readme_summary(card: dict) -> str:
    """The README's paragraph on the shipped model's held-out scores."""
    ev = _evaluation(card)
    bands = ev["methods"]["model"]["bands"]
    chi2 = " / ".join(fmt_value(bands[b].get("chi2_n"), ".2f") for b in BAND_NAMES)
    nmad = " / ".join(fmt_value(bands[b].get("nmad"), ".2f") for b in BAND_NAMES)
    names = " / ".join(b.upper() for b in BAND_NAMES)
    data = card["training_data"]
    survey = ev["measured_on"].split(":")[0]
    return (
        f"The shipped model (`specir/data/models/default/`, trained on the {data.get('n_train')}"
        f"-galaxy training split of {data.get('n_rows_read')} simulated galaxies) scores, on "
        f"{ev['n_eval']} held-out **simulated** galaxies — a {survey} — with their total r "
        "magnitude given, "
        f"χ²_N = {chi2} and NMAD = {nmad} mag in {names} (detections only); "
        "`docs/modelcard.rst` has every number, the baselines and the acceptance targets."
    )


def _evaluation(card):
    ev = card.get("heldout_evaluation")
    if not ev or "methods" not in ev:
        raise SpecIRInputError(
            "model_card.json heldout_evaluation",
            "is missing or not written by `specir evaluate --write-card`",
            "run `specir evaluate BUNDLE HELDOUT --out DIR --write-card`",
        )
    return ev


def replace_block(text: str, name: str, block: str, *, style: str) -> str:
    """``text`` with the lines between the ``name`` markers replaced by ``block``."""
    begin, end = (m.format(name) for m in _MARKERS[style])
    try:
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
    except ValueError:
        raise SpecIRInputError(
            name, f"markers {begin!r} … {end!r} not found", "add the two marker lines"
        ) from None
    # blank lines around the block: an RST comment must not run into the text
    return f"{head}{begin}\n\n{block}\n\n{end}{tail}"


def render(root: Path, card: dict) -> dict:
    """``{path: text}`` of README.md and docs/modelcard.rst with their blocks from ``card``."""
    root = Path(root)
    readme, modelcard = root / "README.md", root / "docs" / "modelcard.rst"
    return {
        readme: replace_block(
            readme.read_text(), "heldout-summary", readme_summary(card), style="md"
        ),
        modelcard: replace_block(
            modelcard.read_text(), "heldout-table", heldout_rst(card), style="rst"
        ),
    }
