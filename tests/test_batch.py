"""specir.batch: writable checks before work, atomic outputs, the failure report."""

import json
import os

import pytest

from specir.batch import BatchReport, atomic_output, check_writable, reason, report_path
from specir.errors import SpecIRFileError, SpecIRInputError


def test_check_writable(tmp_path):
    check_writable(tmp_path / "new.parquet")
    with pytest.raises(SpecIRFileError, match=r"cannot be written: its folder .* does not exist"):
        check_writable(tmp_path / "missing" / "x.parquet")
    (tmp_path / "file").write_text("x")
    with pytest.raises(SpecIRFileError, match=r"is not a folder"):
        check_writable(tmp_path / "file" / "x.parquet")
    with pytest.raises(SpecIRFileError, match=r"file: already exists"):
        check_writable(tmp_path / "file")
    check_writable(tmp_path / "file", exists_ok=True)
    with pytest.raises(SpecIRFileError, match=r"is a folder"):
        check_writable(tmp_path, exists_ok=True)
    with pytest.raises(SpecIRFileError, match=r"is a file"):
        check_writable(tmp_path / "file", exists_ok=True, folder=True)


def test_check_writable_permission(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o555)
    if os.geteuid() != 0:  # permission bits stop ordinary users
        with pytest.raises(SpecIRFileError, match="no permission"):
            check_writable(ro / "x.parquet")
    # /sys is read-only in containers and refuses new files to root as well; skip where not
    if not os.path.isdir("/sys") or (os.access("/sys", os.W_OK) and _creatable("/sys")):
        pytest.skip("no folder here refuses new files to this user")
    with pytest.raises(SpecIRFileError, match="no permission to write in /sys"):
        check_writable("/sys/specir-out.parquet")


def _creatable(folder):
    try:
        with open(os.path.join(folder, ".specir-probe"), "x"):
            pass
    except OSError:
        return False
    os.remove(os.path.join(folder, ".specir-probe"))
    return True


def test_atomic_output_never_leaves_half_a_file(tmp_path):
    out = tmp_path / "t.ecsv"
    out.write_text("old")
    with pytest.raises(RuntimeError), atomic_output(out) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed mid-write")
    assert out.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["t.ecsv"]
    with atomic_output(out) as tmp:
        assert tmp.suffix == ".ecsv" and tmp.parent == out.parent
        tmp.write_text("new")
    assert out.read_text() == "new" and sorted(p.name for p in tmp_path.iterdir()) == ["t.ecsv"]


def test_report_status_summary_and_json(tmp_path):
    out = tmp_path / "vac"
    report = BatchReport("catalog run", str(out), n_inputs=2)
    assert report.status == "ok"
    report.fail("Norder=1/Npix=4", SpecIRInputError("column 'flux'", "rows differ", "fix"))
    assert report.status == "partial"
    assert "1 of 2 inputs done, 1 failed (Npix=4: rows differ)" in report.summary()
    report.fail("Norder=1/Npix=5", KeyError("ra"))
    assert report.status == "failed"
    data = json.loads(report.write().read_text())
    assert report_path(out) == tmp_path / "vac.report.json"
    assert data["status"] == "failed" and data["n_failed"] == 2
    assert data["failed"][1] == {"input": "Norder=1/Npix=5", "reason": "unexpected KeyError: 'ra'"}
    assert reason(SpecIRFileError("a.fits", "is empty", "x")) == "a.fits: is empty. Fix: x"
