"""Survey-wide value-added catalogs: the HEALPix-partitioned prediction job."""

from specir.catalog.job import Recipe, load_recipe, run_job

__all__ = ["Recipe", "load_recipe", "run_job"]
