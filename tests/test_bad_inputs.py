"""A corpus of broken files and bad values, made here, each asserting the exact error class and
that the message names the field (for files: the path, and the HDU or column at fault).

Files are derived from one real SDSS spectrum (truncated at several points, HDUs removed or
replaced, columns dropped, wavelengths reversed or NaN) or written from scratch (zero bytes,
text, an image FITS). Values go to the public API as a careless user would pass them.
"""

import shutil

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits

from specir import predict_ir, prepare_spectra, read_sdss
from specir.errors import SpecIRFileError, SpecIRInputError

GOOD = "spec-0266-51602-0001.fits"


@pytest.fixture(scope="module")
def good_file(sdss_dir):
    return sdss_dir / GOOD


def _copy_with(src, dst, edit):
    """Write ``dst`` as ``src`` with ``edit(hdul)`` applied to an in-memory copy."""
    with fits.open(src) as hdul:
        hdus = fits.HDUList([h.copy() for h in hdul])
    edit(hdus)
    hdus.writeto(dst)
    return dst


def _coadd_with(columns):
    return fits.BinTableHDU.from_columns(
        [fits.Column(name=k, format="E", array=v) for k, v in columns.items()], name="COADD"
    )


def _edit_coadd(name, values):
    def edit(hdul):
        data = {c: np.array(hdul["COADD"].data[c]) for c in ("loglam", "flux", "ivar")}
        data[name] = values(data[name])
        hdul["COADD"] = _coadd_with(data)

    return edit


# case name -> (how to make the file from the good one, words the message must hold)
FILE_CASES = {
    "zero bytes": (lambda src, dst: dst.write_bytes(b""), "is empty (0 bytes)"),
    "text": (lambda src, dst: dst.write_text("plate,mjd,fiber\n266,51602,1\n"), "not a FITS file"),
    "truncated in the COADD data": (
        lambda src, dst: dst.write_bytes(src.read_bytes()[:20000]),
        "is truncated/corrupt",
    ),
    "truncated in a header": (
        lambda src, dst: dst.write_bytes(src.read_bytes()[:2880]),
        "is truncated/corrupt",
    ),
    "truncated near the end": (
        lambda src, dst: dst.write_bytes(src.read_bytes()[:-100]),
        "is truncated/corrupt",
    ),
    "image FITS": (
        lambda src, dst: fits.PrimaryHDU(np.zeros((8, 8), np.float32)).writeto(dst),
        "has no COADD table",
    ),
    "COADD is an image": (
        lambda src, dst: _copy_with(
            src, dst, lambda h: h.__setitem__("COADD", fits.ImageHDU(np.zeros(5), name="COADD"))
        ),
        "HDU COADD is a ImageHDU, not a binary table",
    ),
    "no SPECOBJ": (lambda src, dst: _copy_with(src, dst, lambda h: h.pop(2)), "SPECOBJ, SPALL"),
    "COADD without flux": (
        lambda src, dst: _copy_with(
            src,
            dst,
            lambda h: h.__setitem__(
                "COADD",
                _coadd_with({c: np.array(h["COADD"].data[c]) for c in ("loglam", "ivar")}),
            ),
        ),
        "COADD table lacks the column(s) flux",
    ),
    "empty COADD": (
        lambda src, dst: _copy_with(
            src,
            dst,
            lambda h: h.__setitem__("COADD", fits.BinTableHDU(h["COADD"].data[:0], name="COADD")),
        ),
        "COADD table has no rows",
    ),
    "NaN loglam": (
        lambda src, dst: _copy_with(
            src, dst, _edit_coadd("loglam", lambda a: np.full_like(a, np.nan))
        ),
        "COADD column loglam has",
    ),
    "reversed loglam": (
        lambda src, dst: _copy_with(src, dst, _edit_coadd("loglam", lambda a: a[::-1])),
        "loglam is not strictly increasing",
    ),
    "scrambled loglam": (
        lambda src, dst: _copy_with(
            src, dst, _edit_coadd("loglam", lambda a: np.random.default_rng(1).permutation(a))
        ),
        "loglam is not strictly increasing",
    ),
    "linear wavelengths in loglam": (
        lambda src, dst: _copy_with(src, dst, _edit_coadd("loglam", lambda a: 10**a)),
        "not log10 of optical wavelengths",
    ),
    "NaN redshift": (
        lambda src, dst: _copy_with(src, dst, lambda h: h["SPECOBJ"].data.__setitem__("Z", np.nan)),
        "column Z (pipeline redshift)",
    ),
}


@pytest.mark.parametrize("case", list(FILE_CASES))
def test_broken_file_is_a_file_error_naming_it(case, good_file, tmp_path):
    make, words = FILE_CASES[case]
    path = tmp_path / "spec-broken.fits"
    make(good_file, path)
    with pytest.raises(SpecIRFileError) as info:
        read_sdss(path)
    assert type(info.value) is SpecIRFileError
    msg = str(info.value)
    assert msg.startswith(f"{path}: ") and words in msg, msg
    assert "Fix: " in msg and "reshape" not in msg and "Traceback" not in msg


def test_paths_that_are_not_files(tmp_path):
    with pytest.raises(SpecIRFileError, match=r"spectra: is a directory, not a spectrum file"):
        (tmp_path / "spectra").mkdir()
        read_sdss(tmp_path / "spectra")
    with pytest.raises(SpecIRFileError, match=r"missing\.fits: does not exist"):
        read_sdss(tmp_path / "missing.fits")
    for bad in (None, 3, ""):
        with pytest.raises(SpecIRInputError, match=r"^path: is a"):
            read_sdss(bad)


@pytest.mark.parametrize(
    "mask_bits, words",
    [
        (True, "mask_bits: is True"),
        ([1.5], "non-integers"),
        ([40], "outside 0..31"),
        ("x", "is 'x'"),
    ],
)
def test_bad_mask_bits(good_file, mask_bits, words):
    with pytest.raises(SpecIRInputError, match=r"^mask_bits: ") as info:
        read_sdss(good_file, mask_bits=mask_bits)
    assert words in str(info.value)


@pytest.fixture(scope="module")
def spectrum(good_file):
    return read_sdss(good_file)


@pytest.mark.parametrize(
    "z, words",
    [
        ("abc", "z: is not a number ('abc')"),
        ("0.1", "z: is not a number ('0.1')"),
        (True, "z: is a boolean (True)"),
        ([False], "z: is a boolean"),
        (0.1 * u.km, "z: has unit km"),
        (np.nan, "redshift: is NaN or infinite"),
        (-0.2, "redshift: is negative"),
        ([0.1, 0.2], "z: has 2 values for 1 spectra"),
    ],
)
def test_bad_redshift_values(spectrum, z, words):
    with pytest.raises(SpecIRInputError) as info:
        prepare_spectra(spectrum, z=z)
    assert type(info.value) is SpecIRInputError
    assert str(info.value).startswith(words), str(info.value)


@pytest.mark.parametrize(
    "options, words",
    [
        (
            {"device": "tpu"},
            "device: is 'tpu', which specir cannot run on. Fix: give one of auto, "
            "cpu, cuda, cuda:N",
        ),
        ({"device": "cuda:x"}, "device: is 'cuda:x'"),
        ({"device": 0}, "device: is a int"),
        ({"batch_size": 0}, "batch_size: is 0"),
        ({"batch_size": True}, "batch_size: is True, not an integer"),
        ({"batch_size": 2.5}, "batch_size: is 2.5, not an integer"),
        ({"model": 3}, "model: is 3"),
        ({"model": ""}, "model: is ''"),
        ({"r_mag": True}, "r_mag: is a boolean"),
        ({"r_mag": "bright"}, "r_mag: is not numeric"),
        ({"z": "abc"}, "z: is not a number"),
    ],
)
def test_bad_predict_options(spectrum, options, words):
    with pytest.raises(SpecIRInputError) as info:
        predict_ir(spectrum, **options)
    assert str(info.value).startswith(words), str(info.value)


def test_directory_given_to_predict_cli(tmp_path):
    from specir.scripts.main import main

    (tmp_path / "d").mkdir()
    assert main(["-q", "predict", str(tmp_path / "d"), "-o", str(tmp_path / "o.ecsv")]) == 1
    report = (tmp_path / "o.ecsv.report.json").read_text()
    assert "is a directory" in report and not (tmp_path / "o.ecsv").exists()


def test_copy_of_good_file_still_reads(good_file, tmp_path):
    """The corpus edits are what breaks the files: an unedited round trip reads fine."""
    path = _copy_with(good_file, tmp_path / "copy.fits", lambda h: None)
    shutil.copy(good_file, tmp_path / "raw.fits")
    a, b = read_sdss(path), read_sdss(tmp_path / "raw.fits")
    np.testing.assert_array_equal(a.flux.value, b.flux.value)
    assert a.meta["z"] == b.meta["z"]


@pytest.mark.parametrize(
    "options, words",
    [
        ({"air": "yes"}, "air: is 'yes'"),
        ({"z_range": (0.3, 0.1)}, "z_range: is (0.3, 0.1)"),
        ({"z_range": "all"}, "z_range: is not a number"),
        ({"min_coverage": 1.5}, "min_coverage: is 1.5"),
        ({"min_snr": True}, "min_snr: is a boolean"),
        ({"min_snr": -1}, "min_snr: is -1"),
    ],
)
def test_bad_prepare_options(spectrum, options, words):
    with pytest.raises(SpecIRInputError) as info:
        prepare_spectra(spectrum, **options)
    assert str(info.value).startswith(words), str(info.value)


@pytest.mark.parametrize(
    "flux, ivar, z, words",
    [
        ([[1.0] * 3921, [1.0] * 10], np.ones((2, 3921)), [0.1, 0.1], "flux: is ragged"),
        (np.full((1, 3921), "x"), np.ones((1, 3921)), [0.1], "flux: is not a number"),
        (np.ones((1, 3921)), np.ones((1, 3921)), ["abc"], "z: is not a number"),
        (np.ones((1, 3921)), np.ones((1, 3921)), [True], "z: is a boolean"),
        (np.ones((1, 3920)), np.ones((1, 3920)), [0.1], "flux/ivar: have shapes"),
    ],
)
def test_bad_grid_arrays(flux, ivar, z, words):
    from specir.spectra import prepare_grid_arrays

    with pytest.raises(SpecIRInputError) as info:
        prepare_grid_arrays(flux, ivar, z)
    assert str(info.value).startswith(words), str(info.value)
