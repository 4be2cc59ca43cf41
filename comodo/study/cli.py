"""``comodo study``: build what is missing, then execute every notebook of the study with papermill.

Order: the embedded world (all target domains) and its pre-trained teacher, every COMODO run the
notebooks read (one sweep over all of them, unless ``--only``), then COMODO's notebooks (``01_tour`` …
``08_efficiency``, :data:`COMODO_NOTEBOOKS`: they read COMODO's runs only, so COMODO's figures are all
written before EgoDistill's half starts; a failing one stops the study there), then every EgoDistill
run (its verb domains, fine-tuned teachers, frame features and runs:
:func:`comodo.study.egodistill.experiments.study_configs`), then
the other notebooks (``09_egodistill_tour`` … ``12_egodistill_imu``, then ``00_explore``, which reads
every cached run of both methods), each executed
into ``build/notebooks/`` (``build/quick/notebooks/`` with ``--quick``) with
``parameters={"quick": ..., "figures_dir": ...}``. Figures and each notebook's JSON numbers go to
``figures/`` (``build/quick/figures/`` with ``--quick``, so a CI-sized run never overwrites the
study's figures). Runs, embeddings and results are cached under ``<data>/cache``: a second
``comodo study`` only re-executes the notebooks and redraws.

On a machine with more than one core (``COMODO_WORKERS``, default min(2, cores)) the notebooks,
which by then only read cached runs, are executed side by side in worker processes (the same ones for
both groups); the notebooks one process executes share its kernel (reset before each: no names, no
open figures), so torch, transformers and scikit-learn are imported once per process, not once per
notebook; ``08_efficiency``, which measures CPU latencies (beside the others with ``--quick``), runs
alone after COMODO's others, and ``00_explore`` alone after EgoDistill's, in one of those kernels.
At the end, a table of the step times (wall seconds, and the machine's busy core-seconds,
:mod:`comodo.study.core_time`) with the machine's CPU model, torch's CPU capability and the core count,
to compare with the README's, when COMODO's figures were all written (COMODO's half of the study), then
the core time left idle or stolen by a hypervisor and the floor the study's work sets on this machine
(busy core-seconds / cores).

Each notebook can also be run on its own, e.g.::

    papermill notebooks/03_queue_size.ipynb build/notebooks/03_queue_size.ipynb -p quick True -k python3
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from comodo.errors import check
from comodo.study.core_time import Mark, Step, floor_line, idle_line, stolen_line, table

ROOT = Path(__file__).resolve().parents[2]  # the source checkout


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
    p.add_argument("--costs", action="store_true",
                   help="train nothing: print the core-seconds the cached runs and models recorded, by the figure "
                        "that first needs them (comodo.study.costs; with --quick, the quick study's)")
    p.set_defaults(run=run)


# The notebooks that read COMODO's runs only (notebook 8 times EgoDistill's architectures, not its runs),
# executed as soon as those runs are there, before EgoDistill's sweep: COMODO's half of the study ends
# with its figures drawn, and a newcomer sees them before EgoDistill's runs are trained, not at the end.
COMODO_NOTEBOOKS = ("01_tour", "02_distill", "03_queue_size", "04_methods", "05_cross_dataset", "06_umap",
                    "07_ablations", "08_efficiency")
# Executed alone after the others of their group (in the order of notebooks(), 00_explore last): 08_efficiency
# measures the CPU, 00_explore reads every run the others trained. With --quick, 08_efficiency runs
# beside the others: its CI-sized table (cached apart from the study's) is not a measurement to read.
ALONE = ("08_efficiency", "00_explore")
ALONE_QUICK = ("00_explore",)
# The longest notebooks, longest first, started first when notebooks run side by side (the short ones
# fill both workers at the end): the tour loads the teacher and two runs, UMAP fits twice, notebook 8
# builds and times the real-size models, EgoDistill's read its runs' arrays and count FLOPs.
LONGEST = ("01_tour", "06_umap", "08_efficiency", "12_egodistill_imu", "10_egodistill_cost", "09_egodistill_tour")


def cpu_name(cpuinfo: str, fallback: str) -> str:
    """The CPU's model name from ``/proc/cpuinfo``'s text, with its family and model numbers: a hypervisor
    often shows only "AMD EPYC" or "Intel Xeon Processor" for every generation, and results are
    bit-identical on one CPU model only (an Intel Xeon and a Zen 4 EPYC, both AVX-512, differ)."""
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        if not line.strip():
            break  # the first processor's block is enough
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    name = fields.get("model name") or fallback
    if fields.get("cpu family") and fields.get("model"):
        name += f" (family {fields['cpu family']}, model {fields['model']})"
    return name


def machine() -> str:
    """The CPU (model name, family and model), torch's CPU capability (kernels differ between AVX2 and
    AVX-512) and the cores."""
    import os
    import platform

    import torch

    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        cpuinfo = ""
    model = cpu_name(cpuinfo, platform.processor() or platform.machine())
    return f"{model}, {torch.backends.cpu.get_cpu_capability()}, {os.cpu_count()} cores"


_KERNEL = None  # this process's kernel: the notebooks one process executes share it (imports paid once)
# Run in the shared kernel before each notebook: no names and no open figures, as in a fresh kernel
# (torch seeds its generator at random in every new process, so no notebook's numbers depend on it).
_RESET = "import matplotlib.pyplot\nmatplotlib.pyplot.close('all')\n%reset -f\n"


def _kernel():
    """This process's ``python3`` kernel, started on first use (cwd: the checkout), reset on every next."""
    global _KERNEL
    from jupyter_client.manager import KernelManager

    if _KERNEL is None or not _KERNEL.is_alive():
        import atexit

        _KERNEL = KernelManager(kernel_name="python3")
        _KERNEL.start_kernel(cwd=str(ROOT))
        atexit.register(_KERNEL.shutdown_kernel, now=True)
        return _KERNEL
    client = _KERNEL.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=120)
        reply = client.execute_interactive(_RESET, timeout=120, output_hook=lambda msg: None)
        check(reply["content"]["status"] == "ok", f"the notebooks' kernel did not reset: {reply['content']}")
    finally:
        client.stop_channels()
    return _KERNEL


def _execute(book: str, out: str, quick: bool, figures: str, label: str) -> float:
    """Execute one notebook with papermill in this process's kernel (:func:`_kernel`), in a worker
    process when notebooks run side by side."""
    import papermill

    t = time.time()
    print(f"{label} {Path(book).stem} ...", flush=True)
    papermill.execute_notebook(book, out, parameters={"quick": quick, "figures_dir": figures},
                               kernel_name="python3", cwd=str(ROOT), progress_bar=False, km=_kernel(),
                               stdout_file=sys.stdout)  # the notebook's own lines: one per run
    return time.time() - t


def prepare_and_train(quick: bool, train: bool = True,
                      after_comodo: Callable[[], list[Step]] | None = None) -> list[Step]:
    """The world, the embedded teacher and, with ``train``, every run the notebooks read (COMODO's in one
    pool, then EgoDistill's sweep), so that the notebooks only read caches; each step's wall seconds
    and busy core-seconds. ``after_comodo`` runs between the two methods' runs (``comodo study``: COMODO's
    notebooks), its steps added to the table."""
    from comodo.study.comodo import runs
    from comodo.study.comodo.experiments import settings

    s = settings(quick=quick)
    steps: list[Step] = []
    t = Mark.now()
    print(f"study ({'quick' if quick else 'full'}): world ({s.world_size}) and teacher ...", flush=True)
    runs.prepare(s.world_size, domains=s.domains)
    steps.append(Step.since(f"world ({len(s.domains)} domains + the teacher's) and embedded teacher", t))
    print(f"  ready in {steps[-1].seconds:.0f} s", flush=True)
    if not train:
        return steps
    from comodo.study.comodo.experiments import train_everything
    from comodo.study.egodistill import experiments as ego
    from comodo.study.egodistill.runs import sweep

    with runs.worker_pool() as pool:  # one pool for both methods: each worker imports torch and transformers once
        t = Mark.now()  # every notebook's runs in one sweep: both cores busy to the end
        n = train_everything(s, pool=pool)
        steps.append(Step.since(f"COMODO: teacher embeddings, the {n} runs and the teacher's results (one pool)", t))
        print(f"  {n} runs trained or found, and evaluated, in {steps[-1].seconds:.0f} s", flush=True)
        if after_comodo is not None:
            steps += after_comodo()
        t = Mark.now()
        configs = ego.study_configs(ego.settings(quick=quick))
        print(f"EgoDistill: teachers, frame features and the {len(configs)} runs ...", flush=True)
        sweep(configs, pool=pool)  # a line per finished run: 96 runs, half an hour on 2 cores
        steps.append(Step.since(f"EgoDistill: teachers, frame features, the {len(configs)} runs (the same pool)", t))
        print(f"  trained or found, and evaluated, in {steps[-1].seconds:.0f} s", flush=True)
    return steps


def run(args: argparse.Namespace) -> int:
    from comodo.study.comodo import runs

    if args.costs:
        from comodo.study import costs

        print("\n".join(costs.table(costs.costs(quick=bool(args.quick)))))
        print(costs.FOOTNOTE)
        return 0

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
    first = [] if args.only else [b for b in books if b.stem in COMODO_NOTEBOOKS]
    rest = [b for b in books if b not in first]
    seconds: dict[Path, float] = {}
    t0 = Mark.now()
    comodo_half = None  # seconds from the start to COMODO's last figure

    with Notebooks(out, bool(args.quick), str(figures), side_by_side=not args.only, total=len(books)) as execute:
        def comodo_figures() -> list[Step]:
            nonlocal comodo_half
            t = Mark.now()
            print(f"COMODO's {len(first)} notebooks ...", flush=True)
            seconds.update(execute(first))
            comodo_half = time.time() - t0.wall
            print(f"  COMODO's figures written {comodo_half:.0f} s after the start", flush=True)
            return [Step.since(f"COMODO's {len(first)} notebooks (wall)", t)]

        steps = prepare_and_train(bool(args.quick), train=not args.only,
                                  after_comodo=comodo_figures if first else None)
        t = Mark.now()
        seconds.update(execute(rest))
        steps.append(Step.since(f"the {'other ' if first else ''}{len(rest)} notebooks (wall)", t))
    steps += [Step(f"notebook {b.stem}", seconds[b]) for b in books]  # side by side: no core time of their own
    end = Mark.now()
    total = Step.since("comodo study", t0, end)
    print(f"study done in {total.seconds:.0f} s: figures and numbers in {figures}, executed notebooks in {out}",
          flush=True)
    print(f"results as Markdown tables: comodo report --figures {figures}", flush=True)
    print(f"\nstep times on {machine()} ({runs.workers()} worker processes):")
    print("\n".join(table(steps, total)))
    if comodo_half is not None:
        print(f"  {comodo_half_line(comodo_half)}")
    cores = os.cpu_count() or 1
    idle, stolen = end.since(t0, 1), end.since(t0, 2)
    if idle is not None:
        print(f"  {idle_line(total.seconds, idle, cores)}")
    if stolen is not None and stolen >= 1:
        print(f"  {stolen_line(stolen, total.seconds, cores)}")
    if total.busy is not None:
        print(f"  {floor_line(total.busy, cores)}")
    sys.stdout.flush()
    return 0


def comodo_half_line(seconds: float) -> str:
    """``COMODO's half: its figures were all written 700 s (11.7 min) after the start (from a fresh clone, add
    make install's time)``."""
    return (f"COMODO's half: its figures were all written {seconds:,.0f} s ({seconds / 60:.1f} min) after the start "
            f"(from a fresh clone, add make install's time)")


class Notebooks:
    """Executes notebooks into ``out``: ``execute(books)`` → seconds per notebook, in the order they finished.

    Side by side in :func:`comodo.study.comodo.runs.workers` processes (all but :data:`ALONE`, or
    :data:`ALONE_QUICK` with ``quick``, which run alone afterwards, one at a time, in one of those
    processes' kernels) when ``side_by_side`` and there is more than one worker; else one after the other,
    in order, in this process's kernel. The processes, and the kernel each started, are kept from one
    call to the next (``comodo study`` calls it for COMODO's notebooks, then for the others) and shut
    down when the ``with`` block ends. ``total`` numbers the notebooks ``[i/total]`` across calls.
    """

    def __init__(self, out: Path, quick: bool, figures: str, side_by_side: bool, total: int | None = None) -> None:
        self.out, self.quick, self.figures, self.side_by_side, self.total = out, quick, figures, side_by_side, total
        self.started = 0
        self.pool = None

    def __enter__(self) -> "Notebooks":
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=kind is not None)  # after a failed notebook, start no other
            self.pool = None

    def __call__(self, books: list[Path]) -> dict[Path, float]:
        from comodo.study.comodo import runs

        labels = {b: f"[{self.started + i}/{self.total or len(books)}]" for i, b in enumerate(books, 1)}
        self.started += len(books)
        seconds: dict[Path, float] = {}

        def done(b: Path, sec: float) -> None:
            seconds[b] = sec
            print(f"{labels[b]} {b.stem}: {sec:.0f} s -> {self.out / b.name}", flush=True)

        def args(b: Path) -> tuple:
            return str(b), str(self.out / b.name), self.quick, self.figures, labels[b]

        alone = ALONE_QUICK if self.quick else ALONE
        side_by_side = self.side_by_side and runs.workers() > 1
        together = [b for b in books if b.stem not in alone] if side_by_side else []
        together.sort(key=lambda b: LONGEST.index(b.stem) if b.stem in LONGEST else len(LONGEST))  # stable
        if self.pool is None and len(together) > 1:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor

            self.pool = ProcessPoolExecutor(runs.workers(), mp_context=mp.get_context("spawn"))
        if self.pool is not None and together:
            from concurrent.futures import as_completed

            futures = {self.pool.submit(_execute, *args(b)): b for b in together}
            for f in as_completed(futures):
                done(futures[f], f.result())
        for b in books:  # then the others one at a time, each alone on the machine, in a worker's kernel
            if b not in seconds:  # (already started: its imports are paid), or in this process's
                done(b, self.pool.submit(_execute, *args(b)).result() if self.pool is not None else _execute(*args(b)))
        return seconds

