"""One loader for every TOML configuration of specir (training, catalog recipes, simulation).

Configurations are frozen dataclasses that validate themselves in ``__post_init__``; this module
turns a TOML file (or a dict) into one, the same way for all of them (lsdb's ``HatsLoadingConfig``
is the model):

- an unknown key is refused, naming the key and the closest known one;
- a missing required key is refused, naming it;
- a nested table fills a field whose type is itself a dataclass (``[columns]``, ``[population]``);
- TOML arrays become tuples where the field is a tuple;
- fields marked ``path_field()`` are resolved relative to the TOML file's folder;
- read errors (missing file, a folder, bad TOML) are :class:`~specir.errors.SpecIRInputError`
  (:class:`~specir.errors.SpecIRFileError` for the file itself), with the line of a syntax error.

Examples
--------
>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Demo:
...     name: str
...     size: int = 3
>>> config_from_dict(Demo, {"name": "a", "sise": 4})
Traceback (most recent call last):
...
specir.errors.SpecIRInputError: sise: is not a known setting. Fix: did you mean 'size'? ...
>>> config_from_dict(Demo, {"name": "a"})
Demo(name='a', size=3)
"""

import dataclasses
import difflib
import tomllib
import typing
from pathlib import Path
from typing import Any, TypeVar

from specir.errors import SpecIRFileError, SpecIRInputError

__all__ = ["check_choice", "config_from_dict", "load_config", "path_field", "read_toml"]

T = TypeVar("T")
_PATH = "specir_path"


def check_choice(name: str, value: Any, choices: typing.Sequence[str]) -> None:
    """Refuse ``value`` unless it is one of ``choices``, naming the setting and the choices.

    >>> check_choice("likelihood", "cauchy", ("gaussian", "student_t"))
    Traceback (most recent call last):
    ...
    specir.errors.SpecIRInputError: likelihood: is 'cauchy'. Fix: use one of gaussian, student_t
    """
    if value not in choices:
        raise SpecIRInputError(name, f"is {value!r}", f"use one of {', '.join(choices)}")


def path_field(default: Any = dataclasses.MISSING, **kwargs) -> Any:
    """A dataclass field holding a path, resolved relative to the configuration file."""
    meta = {**kwargs.pop("metadata", {}), _PATH: True}
    if default is dataclasses.MISSING:
        return dataclasses.field(metadata=meta, **kwargs)
    return dataclasses.field(default=default, metadata=meta, **kwargs)


def read_toml(path: str | Path, *, what: str = "config") -> dict:
    """Read a TOML file into a dict; every failure is a :class:`SpecIRInputError`.

    Parameters
    ----------
    path : str or Path
        The file.
    what : str
        What the file is, for messages (``"recipe"``, ``"config"``).
    """
    path = Path(path)
    if not path.exists():
        raise SpecIRFileError(str(path), f"{what} file does not exist", "give an existing file")
    if path.is_dir():
        raise SpecIRFileError(str(path), f"is a folder, not a {what} file", "give a .toml file")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise SpecIRFileError(
            str(path), f"is not a text {what} file (not UTF-8)", "give a TOML text file"
        ) from None
    except OSError as exc:
        raise SpecIRFileError(
            str(path), f"cannot be read ({exc.strerror})", "check its permissions"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecIRInputError(
            str(path), f"is not valid TOML ({exc})", "fix the syntax at that line"
        ) from None
    return data


def _suggest(key: str, known: list[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"{hint}Known: {', '.join(known)}"


def _is_tuple(tp) -> bool:
    return tp is tuple or typing.get_origin(tp) is tuple


def config_from_dict(
    cls: type[T], data: dict, *, prefix: str = "", base_dir: str | Path | None = None
) -> T:
    """Build the dataclass ``cls`` from ``data``, refusing unknown and missing keys.

    Parameters
    ----------
    cls : dataclass type
        The configuration class.
    data : dict
        Keys and values, as read from TOML (nested tables for nested dataclasses).
    prefix : str
        Dotted name of ``data`` within the file, for messages (``"population"``).
    base_dir : str or Path, optional
        Folder that relative ``path_field`` values are relative to.
    """
    if not isinstance(data, dict):
        raise SpecIRInputError(prefix or "config", "must be a table", f"write [{prefix}] with keys")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    hints = typing.get_type_hints(cls)
    known = sorted(fields)
    kwargs = {}
    for key, value in data.items():
        name = f"{prefix}.{key}" if prefix else key
        if key not in fields:
            raise SpecIRInputError(name, "is not a known setting", _suggest(key, known))
        tp = hints.get(key)
        if dataclasses.is_dataclass(tp):
            value = config_from_dict(tp, value, prefix=name, base_dir=base_dir)
        elif isinstance(value, list) and _is_tuple(tp):
            value = tuple(value)
        if fields[key].metadata.get(_PATH) and isinstance(value, str) and value:
            if base_dir is not None and not Path(value).is_absolute():
                value = str((Path(base_dir) / value).resolve())
        kwargs[key] = value
    missing = [
        n
        for n, f in fields.items()
        if n not in kwargs
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        name = f"{prefix}.{missing[0]}" if prefix else missing[0]
        raise SpecIRInputError(name, "is required but missing", f"add {missing[0]} = ...")
    return cls(**kwargs)


def load_config(cls: type[T], path: str | Path, *, what: str = "config", **overrides) -> T:
    """Read the TOML file ``path`` into the dataclass ``cls``.

    ``overrides`` (not ``None``) replace top-level keys of the file, as command-line options do;
    paths they give are taken as given (relative to the working directory).
    """
    path = Path(path)
    data = read_toml(path, what=what)
    config = config_from_dict(cls, data, base_dir=path.parent)
    changes = {k: v for k, v in overrides.items() if v is not None}
    if changes:
        unknown = [k for k in changes if k not in {f.name for f in dataclasses.fields(cls)}]
        if unknown:
            known = sorted(f.name for f in dataclasses.fields(cls))
            fix = _suggest(unknown[0], known)
            raise SpecIRInputError(unknown[0], "is not a known setting", fix)
        config = dataclasses.replace(config, **changes)
    return config
