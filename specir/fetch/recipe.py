"""The fetch recipe: which TAP service, tables and columns, which archive, how politely.

Read from TOML with :func:`specir.config.load_config` (unknown keys refused, paths relative to
the file). ``catalogs/fetch_sdss_allwise.toml`` holds the real services' names; a stand-in test
points the same recipe at a local server with ``tap.url`` and ``sas.base_url`` overrides.
"""

from dataclasses import dataclass, field

from specir.errors import SpecIRInputError

__all__ = [
    "AllwiseTable",
    "CrossmatchTable",
    "DownloadSettings",
    "FetchRecipe",
    "PhotoTable",
    "SasLayout",
    "SpecTable",
    "TapService",
    "load_fetch_recipe",
]

ALLWISE_COLUMNS = (
    *(f"w{b}mpro" for b in range(1, 5)),
    *(f"w{b}sigmpro" for b in range(1, 5)),
    *(f"w{b}snr" for b in range(1, 5)),
    "ph_qual",
    "cc_flags",
    "ext_flg",
)
"""AllWISE Source Catalog columns fetched by default (Vega profile-fit magnitudes, their errors
and S/N, and the quality flags); ``specir train`` reads the first twelve."""


@dataclass(frozen=True)
class TapService:
    """The TAP service that holds every table of the query (the join runs there)."""

    url: str = "https://datalab.noirlab.edu/tap"
    name: str = "NOIRLab Astro Data Lab TAP"
    mode: str = "async"
    """``"async"`` (UWS job: large results, no sync row cap) or ``"sync"``."""
    timeout_s: float = 3600.0

    def __post_init__(self):
        if self.mode not in ("async", "sync"):
            raise SpecIRInputError("tap.mode", f"is {self.mode!r}", "use 'async' or 'sync'")


@dataclass(frozen=True)
class SpecTable:
    """The spectroscopic table (SDSS ``SpecObj``) and the sample's selection."""

    table: str = "sdss_dr17.specobj"
    specobjid: str = "specobjid"
    bestobjid: str = "bestobjid"
    plate: str = "plate"
    mjd: str = "mjd"
    fiberid: str = "fiberid"
    run2d: str = "run2d"
    ra: str = "ra"
    dec: str = "dec"
    z: str = "z"
    zwarning: str = "zwarning"
    class_column: str = "class"
    spec_class: str = "GALAXY"


@dataclass(frozen=True)
class PhotoTable:
    """The photometric table with the total magnitude (SDSS ``PhotoObj.modelMag_r``)."""

    table: str = "sdss_dr17.photoobj"
    objid: str = "objid"
    total_mag: str = "modelmag_r"


@dataclass(frozen=True)
class CrossmatchTable:
    """A pre-computed crossmatch table (Data Lab's ``xNpN__t1__s2__t2`` layout)."""

    table: str = "sdss_dr17.x1p5__specobj__allwise__source"
    id1: str = "id1"
    id2: str = "id2"
    distance: str = "distance"
    """Separation in arcsec; a reserved ADQL word, so it is written as a delimited name."""
    radius_arcsec: float = 1.5

    def __post_init__(self):
        if not self.radius_arcsec > 0:
            raise SpecIRInputError("crossmatch.radius_arcsec", "must be positive", "e.g. 1.5")


@dataclass(frozen=True)
class AllwiseTable:
    """The AllWISE Source Catalog table and the columns copied into the catalog."""

    table: str = "allwise.source"
    source_id: str = "source_id"
    columns: tuple = ALLWISE_COLUMNS


_LITE = "{plate:04d}/spec-{plate:04d}-{mjd}-{fiberid:04d}.fits"


@dataclass(frozen=True)
class SasLayout:
    """Where the spectra live: the SDSS Science Archive Server's lite spec files."""

    base_url: str = "https://data.sdss.org/sas/dr17"
    sdss_path: str = "sdss/spectro/redux/{run2d}/spectra/lite/" + _LITE
    """SDSS-I/II spectra (``run2d`` 26, 103, 104)."""
    eboss_path: str = "eboss/spectro/redux/{run2d}/spectra/lite/" + _LITE
    """BOSS/eBOSS spectra (``run2d`` v5_*)."""
    eboss_run2d_prefix: str = "v"

    def relative_path(self, *, plate, mjd, fiberid, run2d):
        """The file's path below ``base_url`` (SDSS or eBOSS tree by ``run2d``).

        Examples
        --------
        >>> SasLayout().relative_path(plate=266, mjd=51602, fiberid=1, run2d="26")
        'sdss/spectro/redux/26/spectra/lite/0266/spec-0266-51602-0001.fits'
        """
        run2d = str(run2d).strip()
        template = self.eboss_path if run2d.startswith(self.eboss_run2d_prefix) else self.sdss_path
        return template.format(plate=int(plate), mjd=int(mjd), fiberid=int(fiberid), run2d=run2d)


@dataclass(frozen=True)
class DownloadSettings:
    """Concurrency, politeness and patience of the HTTPS downloads."""

    workers: int = 4
    rate_per_s: float = 8.0
    """At most this many requests started per second, over all workers."""
    timeout_s: float = 60.0
    retries: int = 4
    """Further attempts after a 5xx, 429, time-out, dropped connection or unreadable file."""
    backoff_s: float = 2.0
    """First wait before a retry; doubled each time (``Retry-After`` wins when longer)."""
    max_backoff_s: float = 120.0

    def __post_init__(self):
        if self.workers < 1 or self.retries < 0:
            raise SpecIRInputError("download", "workers >= 1 and retries >= 0", "fix the recipe")
        for name in ("rate_per_s", "timeout_s"):
            if not getattr(self, name) > 0:
                raise SpecIRInputError(f"download.{name}", "must be positive", "fix the recipe")


@dataclass(frozen=True)
class FetchRecipe:
    """Everything ``specir fetch sdss-allwise`` needs to know about the outside world."""

    tap: TapService = field(default_factory=TapService)
    spec: SpecTable = field(default_factory=SpecTable)
    photo: PhotoTable = field(default_factory=PhotoTable)
    crossmatch: CrossmatchTable = field(default_factory=CrossmatchTable)
    allwise: AllwiseTable = field(default_factory=AllwiseTable)
    sas: SasLayout = field(default_factory=SasLayout)
    download: DownloadSettings = field(default_factory=DownloadSettings)
    description: str = ""


def load_fetch_recipe(path, **overrides):
    """Read a :class:`FetchRecipe` from TOML; ``overrides`` replace top-level tables."""
    from specir.config import load_config

    return load_config(FetchRecipe, path, what="fetch recipe", **overrides)
