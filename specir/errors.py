"""Exceptions and warnings raised by specir: one hierarchy, rooted at :class:`SpecIRError`.

Every error a user of specir can see is a :class:`SpecIRError`; catching it catches them all
(pyvo's ``dal/exceptions.py`` and astropy's ``io/votable/exceptions.py`` are the models)::

    SpecIRError
    ├── SpecIRInputError (ValueError)    bad value, argument or configuration
    │   ├── SpecIRFileError               a file that cannot be read or written as asked
    │   ├── SpecIRModelError              a model bundle that is corrupt or mismatched
    │   └── SpecIRQueryError              an ADQL / TAP request the service refuses
    └── SpecIRServiceError               a service-side failure (time-out, overload, engine)

:class:`SpecIRWarning` is the one warning class.
"""

__all__ = [
    "SpecIRError",
    "SpecIRFileError",
    "SpecIRInputError",
    "SpecIRModelError",
    "SpecIRQueryError",
    "SpecIRServiceError",
    "SpecIRWarning",
]


class SpecIRError(Exception):
    """Root of every error specir raises on purpose."""


class SpecIRInputError(SpecIRError, ValueError):
    """Input that specir cannot turn into a trustworthy number.

    The message names the offending field and says how to fix it.

    Parameters
    ----------
    field : str
        The input field at fault (``"redshift"``, ``"flux.unit"``, ...).
    problem : str
        What is wrong with it.
    fix : str
        What the user should do instead.

    Examples
    --------
    >>> err = SpecIRInputError("redshift", "is negative (-0.1)", "pass z >= 0")
    >>> str(err)
    'redshift: is negative (-0.1). Fix: pass z >= 0'
    >>> isinstance(err, ValueError), isinstance(err, SpecIRError)
    (True, True)
    """

    def __init__(self, field: str, problem: str, fix: str):
        self.field = field
        self.problem = problem
        self.fix = fix
        super().__init__(f"{field}: {problem}. Fix: {fix}")

    def __reduce__(self):  # picklable across Dask / multiprocessing workers
        return (type(self), (self.field, self.problem, self.fix))


class SpecIRFileError(SpecIRInputError):
    """A file that is missing, unreadable, truncated or not what it claims to be.

    ``field`` is the path; ``problem`` says what is wrong in words (never a raw traceback).

    Examples
    --------
    >>> err = SpecIRFileError("spec.fits", "is truncated", "download it again")
    >>> isinstance(err, SpecIRInputError)
    True
    """


class SpecIRModelError(SpecIRInputError):
    """A model bundle that is corrupt, mismatched or otherwise unusable."""


class SpecIRQueryError(SpecIRInputError):
    """A query (ADQL, TAP or cone-search parameters) that the service refuses.

    Messages are phrased in ADQL / TAP terms, never in the database engine's.
    """


class SpecIRServiceError(SpecIRError):
    """A failure on the service side: a time-out, an overload, an engine fault."""


class SpecIRWarning(UserWarning):
    """Something specir repaired on the way (for example NaN pixels it masked)."""
