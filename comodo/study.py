"""``comodo study``: build what is missing, then execute every notebook of the study with papermill.

Order: the embedded world (all target domains) and its pre-trained teacher, every run the notebooks
read (one sweep over all of them, unless ``--only``), then every ``notebooks/NN_*.ipynb`` in order
(``01_tour`` … ``08_efficiency``, then ``00_explore``, which reads every cached run), each executed
into ``build/notebooks/`` (``build/quick/notebooks/`` with ``--quick``) with
``parameters={"quick": ..., "figures_dir": ...}``. Figures and each notebook's JSON numbers go to
``figures/`` (``build/quick/figures/`` with ``--quick``, so a CI-sized run never overwrites the
study's figures). Runs, embeddings and results are cached under ``<data>/cache``: a second
``comodo study`` only re-executes the notebooks and redraws.

Each notebook can also be run on its own, e.g.::

    papermill notebooks/03_queue_size.ipynb build/notebooks/03_queue_size.ipynb -p quick True -k python3
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from comodo.errors import check

ROOT = Path(__file__).resolve().parent.parent


def notebooks(root: Path = ROOT) -> list[Path]:
    """The study's notebooks, in order (``notebooks/NN_*.ipynb``); ``00_explore``, which reads every
    run the others trained, last."""
    return sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"), key=lambda p: (p.name.startswith("00_"), p.name))


def add_parser(sub: argparse._SubParsersAction) -> None:
    names = ", ".join(p.stem for p in notebooks()) or "(none found)"
    p = sub.add_parser("study", help="run the whole study: world, teacher, then every notebook (figures/ + JSON)",
                       description=__doc__ + f"\nnotebooks: {names}",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="CI-sized: the quick world, 3 epochs, 1 seed (~3 min); writes to build/quick/")
    p.add_argument("--only", action="append", metavar="NAME",
                   help="run only notebooks whose name contains NAME, e.g. 03 or umap (repeatable)")
    p.add_argument("--figures", type=Path, default=None,
                   help="figures folder (default: figures/, or build/quick/figures with --quick)")
    p.add_argument("--out", type=Path, default=None,
                   help="executed notebooks (default: build/notebooks, or build/quick/notebooks with --quick)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import papermill

    from comodo import runs
    from comodo.experiments import settings

    books = notebooks()
    check(bool(books), f"no notebooks in {ROOT / 'notebooks'}: `comodo study` runs from a source checkout")
    if args.only:
        books = [b for b in books if any(o in b.stem for o in args.only)]
        check(bool(books), f"--only {' '.join(args.only)}: no notebook matches "
                           f"({', '.join(p.stem for p in notebooks())})")
    build = ROOT / "build" / ("quick" if args.quick else "")
    figures = (args.figures or (build / "figures" if args.quick else ROOT / "figures")).resolve()
    out = (args.out or build / "notebooks").resolve()
    out.mkdir(parents=True, exist_ok=True)
    s = settings(quick=args.quick)
    t0 = time.time()
    print(f"study ({'quick' if args.quick else 'full'}): world ({s.world_size}) and teacher ...", flush=True)
    runs.prepare(s.world_size, domains=s.domains)
    print(f"  ready in {time.time() - t0:.0f} s", flush=True)
    if not args.only:  # every notebook's runs in one sweep: both cores busy to the end
        from comodo.experiments import train_everything

        t = time.time()
        n = train_everything(s)
        print(f"  {n} runs trained or found, and evaluated, in {time.time() - t:.0f} s", flush=True)
    for i, book in enumerate(books, 1):
        t = time.time()
        print(f"[{i}/{len(books)}] {book.stem} ...", flush=True)
        papermill.execute_notebook(str(book), str(out / book.name),
                                   parameters={"quick": bool(args.quick), "figures_dir": str(figures)},
                                   kernel_name="python3", cwd=str(ROOT), progress_bar=False,
                                   stdout_file=sys.stdout)  # the notebook's own lines: one per run
        print(f"[{i}/{len(books)}] {book.stem}: {time.time() - t:.0f} s -> {out / book.name}", flush=True)
    print(f"study done in {time.time() - t0:.0f} s: figures and numbers in {figures}, executed notebooks in {out}",
          flush=True)
    print(f"results as Markdown tables: comodo report --figures {figures}", flush=True)
    return 0
