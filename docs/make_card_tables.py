"""Write the held-out metrics of README.md and docs/modelcard.rst from the shipped model card.

Usage (from the repository root, after ``specir evaluate default HELDOUT --out DIR
--write-card`` has written ``heldout_evaluation`` into the card)::

    PYTHONPATH=. python docs/make_card_tables.py          # rewrite both files
    PYTHONPATH=. python docs/make_card_tables.py --check  # exit 1 when they differ from the card

The text between the ``heldout-summary`` / ``heldout-table`` markers comes from
:mod:`specir.cardtables`; ``tests/test_cardtables.py`` runs the same check.
"""

import argparse
import json
import logging
import sys
from pathlib import Path

from specir.bundle import default_bundle_dir
from specir.card import CARD_FILE
from specir.cardtables import render

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only compare; change nothing")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    card = json.loads((default_bundle_dir() / CARD_FILE).read_text())
    stale = []
    for path, text in render(ROOT, card).items():
        if path.read_text() != text:
            stale.append(path)
            if not args.check:
                path.write_text(text)
                logging.info("rewrote %s", path.relative_to(ROOT))
    if args.check and stale:
        logging.error("differ from the model card: %s", ", ".join(map(str, stale)))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
