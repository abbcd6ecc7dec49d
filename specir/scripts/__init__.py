"""Command-line programs of specir, one module per sub-command.

Every module here exposes ``add_arguments(parser)`` and ``run(args) -> int`` and holds nothing
but argument handling: the work is done by the library function it calls. :mod:`specir.scripts.main`
wires them into the ``specir`` command. Library modules never import :mod:`argparse`.

Exit statuses are the same for every sub-command (:data:`EXIT_OK` ...).
"""

EXIT_OK = 0
"""Everything asked for was done."""
EXIT_FAILED = 1
"""Nothing usable was produced (every input failed, or an unexpected error)."""
EXIT_USAGE = 2
"""Bad arguments, configuration or input: nothing was started; the message names the fix."""
EXIT_PARTIAL = 3
"""Some inputs failed: the rest were processed and written; a report names each failure."""

EXIT_FOR_STATUS = {"ok": EXIT_OK, "partial": EXIT_PARTIAL, "failed": EXIT_FAILED}
"""Exit status of a batch command from its :attr:`specir.batch.BatchReport.status`."""

__all__ = ["EXIT_FAILED", "EXIT_FOR_STATUS", "EXIT_OK", "EXIT_PARTIAL", "EXIT_USAGE"]
