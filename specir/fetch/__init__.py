"""Real training data from the Virtual Observatory: ``specir fetch sdss-allwise``.

:mod:`specir.fetch.recipe` names the services, tables and columns; :mod:`specir.fetch.tap` runs
the ADQL through pyvo; :mod:`specir.fetch.download` fetches the spectra over HTTPS;
:mod:`specir.fetch.build` ties them together and writes the HATS training catalog.
"""

__all__ = ["fetch_sdss_allwise", "load_fetch_recipe"]


def __getattr__(name):
    if name == "fetch_sdss_allwise":
        from specir.fetch.build import fetch_sdss_allwise

        return fetch_sdss_allwise
    if name == "load_fetch_recipe":
        from specir.fetch.recipe import load_fetch_recipe

        return load_fetch_recipe
    raise AttributeError(f"module 'specir.fetch' has no attribute {name!r}")
