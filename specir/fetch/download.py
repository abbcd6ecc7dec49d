"""HTTPS downloads of spectrum files: concurrent, polite, patient, atomic and resumable.

Every file is written under a temporary name beside its destination, checked (complete and
readable as the spectrum file it should be) and only then renamed into place, so a file at
its final name is always whole: a killed run leaves at most ``*.part*`` files, which the next
run ignores and overwrites. ``resume`` therefore just skips files that exist.

A 5xx or 429 answer, a time-out, a dropped connection or a file that fails the check is
retried with exponential backoff (``Retry-After`` honoured); a 4xx answer is final. Nothing
is lost silently: every failure comes back with its reason.
"""

import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DownloadResult", "RateLimiter", "check_spectrum_file", "download_files"]

log = logging.getLogger(__name__)

_RETRY_STATUS = {429, 500, 502, 503, 504}


@dataclass(frozen=True)
class DownloadResult:
    """What became of one file."""

    url: str
    path: str
    status: str
    """``"downloaded"``, ``"present"`` (kept from an earlier run) or ``"failed"``."""
    attempts: int = 0
    error: str = ""


class RateLimiter:
    """At most ``rate`` request starts per second, shared by all threads."""

    def __init__(self, rate):
        self.interval = 1.0 / float(rate)
        self._next = time.monotonic()
        self._lock = threading.Lock()

    def wait(self):
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            time.sleep(start - now)


class _Retryable(Exception):
    def __init__(self, message, retry_after=None):
        super().__init__(message)
        self.retry_after = retry_after


class _Final(Exception):
    pass


def check_spectrum_file(path):
    """Raise ``ValueError`` unless ``path`` is a whole FITS file that reads as an SDSS spectrum.

    :func:`specir.read_sdss` refuses a file shorter than its headers declare (astropy itself
    only warns about a file cut short) and any other damage, in words.
    """
    import numpy as np

    from specir.sdss import read_sdss

    try:
        spec = read_sdss(path)
    except ValueError as exc:
        raise ValueError(f"not a readable spectrum file ({exc})") from None
    if len(spec.flux) == 0 or not np.isfinite(spec.spectral_axis.value).all():
        raise ValueError("spectrum file holds no usable wavelength axis")


def _retry_after(response):
    value = response.headers.get("Retry-After", "")
    return float(value) if value.strip().isdigit() else None


def _attempt(session, url, dest, settings, check):
    import requests

    tmp = dest.with_name(f"{dest.name}.part{os.getpid()}-{threading.get_ident()}")
    try:
        with session.get(url, timeout=settings.timeout_s, stream=True) as r:
            if r.status_code in _RETRY_STATUS:
                raise _Retryable(f"HTTP {r.status_code}", _retry_after(r))
            if r.status_code != 200:
                raise _Final(f"HTTP {r.status_code} {r.reason}")
            expected = r.headers.get("Content-Length")
            size = 0
            with open(tmp, "wb") as f:
                for chunk in r.iter_content(1 << 16):
                    f.write(chunk)
                    size += len(chunk)
        if expected is not None and int(expected) != size:
            raise _Retryable(f"truncated: {size} of {expected} bytes")
        try:
            check(tmp)
        except ValueError as exc:
            raise _Retryable(str(exc)) from None
        os.replace(tmp, dest)
    except requests.Timeout:
        raise _Retryable(f"time-out after {settings.timeout_s} s") from None
    except requests.exceptions.ChunkedEncodingError as exc:
        raise _Retryable(f"truncated transfer ({exc})") from None
    except requests.RequestException as exc:
        raise _Retryable(f"{type(exc).__name__}: {exc}") from None
    finally:
        tmp.unlink(missing_ok=True)


def _fetch_one(url, dest, settings, limiter, check, local):
    import requests

    dest = Path(dest)
    if dest.is_file():
        return DownloadResult(url, str(dest), "present")
    dest.parent.mkdir(parents=True, exist_ok=True)
    session = getattr(local, "session", None)
    if session is None:
        session = local.session = requests.Session()
    error = ""
    for attempt in range(settings.retries + 1):
        limiter.wait()
        try:
            _attempt(session, url, dest, settings, check)
            return DownloadResult(url, str(dest), "downloaded", attempt + 1)
        except _Final as exc:
            return DownloadResult(url, str(dest), "failed", attempt + 1, str(exc))
        except _Retryable as exc:
            error = str(exc)
            if attempt == settings.retries:
                break
            wait = min(settings.backoff_s * 2**attempt, settings.max_backoff_s)
            wait = max(wait, min(exc.retry_after or 0.0, settings.max_backoff_s))
            log.debug("retrying %s in %.1f s (%s)", url, wait, error)
            time.sleep(wait)
    return DownloadResult(url, str(dest), "failed", settings.retries + 1, error)


def download_files(jobs, settings, *, check=check_spectrum_file, progress=True):
    """Download ``(url, destination)`` pairs; returns a :class:`DownloadResult` per pair.

    Parameters
    ----------
    jobs : list of (str, path-like)
    settings : specir.fetch.recipe.DownloadSettings
        Workers, rate limit, time-out, retries and backoff.
    check : callable, optional
        Raises ``ValueError`` for a downloaded file that must not be kept.
    progress : bool
        Show a tqdm progress bar.
    """
    from tqdm.auto import tqdm

    limiter, local = RateLimiter(settings.rate_per_s), threading.local()
    results = [None] * len(jobs)
    with (
        ThreadPoolExecutor(settings.workers) as pool,
        tqdm(total=len(jobs), desc="downloading spectra", unit="file", disable=not progress) as bar,
    ):
        futures = {
            pool.submit(_fetch_one, url, dest, settings, limiter, check, local): i
            for i, (url, dest) in enumerate(jobs)
        }
        for fut in as_completed(futures):
            results[futures[fut]] = res = fut.result()
            bar.update(1)
            if res.status == "failed":
                log.warning("failed: %s (%s)", res.url, res.error)
    return results
