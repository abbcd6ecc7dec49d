"""What batch commands share: output checks, atomic writes and the failure report.

``specir predict``, ``specir import`` and ``specir catalog run`` process what they can and write
it; each input that fails is listed, with the reason in words, in a JSON report beside the output
(:func:`report_path`), and one summary line is logged. Outputs are checked writable before any
work starts (:func:`check_writable`) and written under a temporary name, renamed only when
complete (:func:`atomic_output`), so nothing half-written ever sits under the final name.

Examples
--------
>>> report = BatchReport("predict", output="out.parquet", n_inputs=3)
>>> report.fail("b.fits", "is truncated/corrupt")
>>> report.status, report.summary()
('partial', 'predict: 2 of 3 inputs done, 1 failed (b.fits: is truncated/corrupt) -> out.parquet')
"""

import contextlib
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from specir.errors import SpecIRError, SpecIRFileError

__all__ = ["BatchReport", "atomic_output", "check_writable", "reason", "report_path"]

log = logging.getLogger(__name__)


def report_path(output):
    """Where the report of a batch run writing ``output`` goes: ``<output>.report.json``."""
    return Path(f"{output}.report.json")


def reason(exc):
    """An exception as a reason in words: a specir error's own message, otherwise its type too."""
    if isinstance(exc, SpecIRError):
        return str(exc)
    return f"unexpected {type(exc).__name__}: {exc}"


def check_writable(output, *, field="output", exists_ok=False, folder=False):
    """Refuse an output that cannot be written, before any work starts.

    Parameters
    ----------
    output : str or Path
        A file or directory to be created.
    field : str
        The option's name, for the message.
    exists_ok : bool
        Whether an existing output may be replaced.
    folder : bool
        Whether the output is a folder (a HATS catalog) rather than a file.

    Raises
    ------
    SpecIRFileError
        When the folder it goes into is missing, not a folder or not writable, or the output
        exists (and ``exists_ok`` is false).

    Examples
    --------
    >>> check_writable("/no/such/folder/out.parquet")
    Traceback (most recent call last):
    ...
    specir.errors.SpecIRFileError: /no/such/folder/out.parquet: cannot be written: its folder ...
    """
    output = Path(output)
    parent = output.parent if str(output.parent) else Path(".")
    if not parent.exists():
        raise SpecIRFileError(
            str(output),
            f"cannot be written: its folder {parent} does not exist",
            f"create it first or choose another {field}",
        )
    if not parent.is_dir():
        raise SpecIRFileError(str(output), f"cannot be written: {parent} is not a folder", "fix")
    if not os.access(parent, os.W_OK | os.X_OK) or not _can_create_in(parent):
        raise SpecIRFileError(
            str(output),
            f"cannot be written: no permission to write in {parent}",
            f"choose a writable {field}",
        )
    if output.exists() and not exists_ok:
        raise SpecIRFileError(str(output), "already exists", f"remove it or choose another {field}")
    if output.exists() and output.is_dir() != folder:
        what = "a folder" if output.is_dir() else "a file"
        raise SpecIRFileError(str(output), f"is {what}", f"choose another {field}")


def _can_create_in(folder):
    """Whether a file can really be created in ``folder`` (permission bits do not stop root, a
    read-only file system does): a probe file is made and removed."""
    try:
        tempfile.NamedTemporaryFile(dir=folder, prefix=".specir-probe-").close()
    except OSError:
        return False
    return True


@contextlib.contextmanager
def atomic_output(output):
    """Yield a temporary path beside ``output`` (same suffix); rename it to ``output`` on success.

    On an exception the temporary file or folder is removed and ``output`` is left untouched.
    """
    output = Path(output)
    tmp = output.with_name(f".{output.stem}.partial-{os.getpid()}{output.suffix}")
    try:
        yield tmp
        os.replace(tmp, output)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()


@dataclass
class BatchReport:
    """The inputs a batch command could not process, and why.

    Attributes
    ----------
    command : str
        ``"predict"``, ``"import"``, ``"catalog run"``.
    output : str
        What the command wrote.
    n_inputs : int
        Inputs (files, partitions) attempted.
    failed : list of dict
        ``{"input": ..., "reason": ...}`` for each failure, reason in words.
    """

    command: str
    output: str
    n_inputs: int = 0
    failed: list = field(default_factory=list)
    details: dict = field(default_factory=dict)
    """Command-specific counts written with the report (e.g. flag counts of an import)."""

    def fail(self, item, why):
        """Record that ``item`` failed; ``why`` is an exception or a reason in words."""
        text = why if isinstance(why, str) else reason(why)
        self.failed.append({"input": str(item), "reason": text})
        log.warning("%s failed: %s", item, text)

    @property
    def n_done(self):
        return self.n_inputs - len(self.failed)

    @property
    def status(self):
        """``"ok"`` (nothing failed), ``"partial"`` (some failed) or ``"failed"`` (all failed)."""
        if not self.failed:
            return "ok"
        return "partial" if self.n_done > 0 else "failed"

    def summary(self):
        """One line: how many inputs were done, which failed and why (the first three)."""
        line = f"{self.command}: {self.n_done} of {self.n_inputs} inputs done"
        if self.failed:
            shown = "; ".join(
                f"{Path(f['input']).name}: {f['reason'].split('. Fix:')[0].split(': ', 1)[-1]}"
                for f in self.failed[:3]
            )
            more = f"; +{len(self.failed) - 3} more" if len(self.failed) > 3 else ""
            line += f", {len(self.failed)} failed ({shown}{more})"
        return f"{line} -> {self.output}"

    def as_dict(self):
        return {
            "command": self.command,
            "output": str(self.output),
            "status": self.status,
            "n_inputs": self.n_inputs,
            "n_done": self.n_done,
            "n_failed": len(self.failed),
            "failed": self.failed,
            **({"details": self.details} if self.details else {}),
        }

    def write(self, path=None):
        """Write the report as JSON (atomically) to ``path``, by default :func:`report_path`."""
        path = Path(path) if path is not None else report_path(self.output)
        with atomic_output(path) as tmp:
            tmp.write_text(json.dumps(self.as_dict(), indent=1) + "\n")
        return path
