"""Exceptions and warnings raised by specir."""

__all__ = ["SpecIRInputError", "SpecIRModelError", "SpecIRWarning"]


class SpecIRInputError(ValueError):
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
    >>> isinstance(err, ValueError)
    True
    """

    def __init__(self, field, problem, fix):
        self.field = field
        self.problem = problem
        self.fix = fix
        super().__init__(f"{field}: {problem}. Fix: {fix}")


class SpecIRModelError(SpecIRInputError):
    """A model bundle that is corrupt, mismatched or otherwise unusable."""


class SpecIRWarning(UserWarning):
    """Something specir repaired on the way (for example NaN pixels it masked)."""
