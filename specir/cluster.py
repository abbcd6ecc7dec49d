"""The Dask distributed client every parallel step of specir runs on (one place to set it up)."""

import contextlib
from collections.abc import Iterator

__all__ = ["dask_client"]


@contextlib.contextmanager
def dask_client(
    *, workers: int = 1, scheduler: str | None = None, memory_limit: str = "4GiB"
) -> Iterator:
    """A ``dask.distributed.Client``, closed (with its local cluster) on exit.

    Parameters
    ----------
    workers : int
        Worker processes of the local cluster, one thread each (ignored with ``scheduler``).
    scheduler : str, optional
        Address of an existing scheduler (``tcp://host:8786``) to connect to instead.
    memory_limit : str
        Memory bound per local worker; Dask pauses a worker at 80% of it and restarts it at 95%.
    """
    from dask.distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            memory_limit=memory_limit,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client
