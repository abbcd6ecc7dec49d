"""``specir demo``: simulate, catalog, serve and query a small survey end to end."""

__all__ = ["add_arguments", "run"]


def add_arguments(parser):
    parser.add_argument("--n", type=int, default=3000, help="galaxies to simulate (3000)")
    parser.add_argument("--seed", type=int, default=7, help="simulation seed (7)")
    parser.add_argument("--recipe", default=None, help="catalog recipe (catalogs/demo.toml)")
    parser.add_argument("--workers", type=int, default=2, help="processes / Dask workers (2)")
    parser.add_argument("--port", type=int, default=8080, help="TAP port (8080; 0: any free)")
    parser.add_argument(
        "--no-serve", dest="serve", action="store_false", help="stop after the queries"
    )


def run(args):
    from specir.demo import run_demo

    run_demo(
        n=args.n,
        seed=args.seed,
        recipe=args.recipe,
        workers=args.workers,
        port=args.port,
        serve=args.serve,
    )
    return 0
