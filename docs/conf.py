"""Sphinx configuration for specir's documentation."""

from importlib.metadata import version as _version

project = "specir"
author = "specir developers"
copyright = "2026, specir developers"
release = _version("specir")
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
]
numpydoc_show_class_members = False
autodoc_typehints = "none"
exclude_patterns = ["_build"]
html_theme = "alabaster"
nitpicky = False
