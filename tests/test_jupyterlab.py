"""JupyterLab as its users meet it: the venv's ``jupyter lab``, headless Chromium, *Run All Cells*.

Papermill executes the notebooks without a server or a browser (tests/test_notebooks.py); here the
tour, 02_distill and the exploration notebook run in a real JupyterLab, and the test checks what a
person would: no cell shows an error, the figures are on the page as images, the notebook was saved
with its outputs, and changing one of the explorer's controls redraws its figure.

- The server: ``.venv/bin/jupyter lab`` on 127.0.0.1, a free port, a random token, its config, data,
  runtime, settings and workspaces in a temporary folder (the kernelspec ``python3`` is the venv's,
  found under ``sys.prefix``); ``--allow-root`` only as root. It inherits ``COMODO_DATA`` (a temporary
  folder, see conftest.py). Stopped after the session whatever happened: ``/api/shutdown``, then the
  process group and any kernel still alive are killed, and the port is checked to be free.
- The browser: Playwright's driver (inside its PyPI wheel) with the system Chromium
  (``/usr/bin/chromium``, Debian's ``chromium`` package, or ``$COMODO_CHROMIUM``; nothing is
  downloaded), with background networking off and a fresh profile. Without Chromium the tests are skipped, saying how to get it;
  with ``CI`` set they fail instead.
- The notebooks: temporary copies parameterised by papermill without executing (``prepare_only``)
  with ``quick=True`` and a temporary ``figures_dir``; cells are run by JupyterLab's
  ``notebook:run-all-cells`` command (``window.jupyterapp``, exposed by ``--LabApp.expose_app_in_browser``).

Screenshots: ``build/jupyterlab_tour.png`` (the executed tour), ``build/jupyterlab_explore.png``
(the explorer's controls after the change).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from comodo.study.cli import ROOT
from test_notebooks import FIGURES

pytestmark = pytest.mark.browser

CHROMIUM = Path(os.environ.get("COMODO_CHROMIUM", "/usr/bin/chromium"))  # Debian's chromium package
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
GET_CHROMIUM = (f"no Chromium at {CHROMIUM}: install it (Debian: `sudo apt-get install -y chromium`; "
                "`bash .ci/run` does it) or point COMODO_CHROMIUM at one")
NOTEBOOKS = ("01_tour", "02_distill", "00_explore")
RUN_TIMEOUT_S = 600  # one notebook; the tour builds the quick world and teacher when the cache is empty
SETTINGS = {  # JupyterLab user settings: every cell in the DOM, no news or update checks
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                        "checkForUpdates": False},
}


def _unavailable(message: str) -> None:
    """Skip with ``message``; fail instead in CI, where the browser test must run."""
    if os.environ.get("CI"):
        pytest.fail(f"CI is set, so the JupyterLab browser tests may not be skipped: {message}")
    pytest.skip(f"JupyterLab browser tests skipped: {message}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Lab:
    url: str
    token: str
    port: int
    root: Path  # the server's root folder: the prepared notebooks
    figures: Path  # their figures_dir
    log: Path


def _start(root: Path, home: Path, port: int, token: str, log_path: Path) -> subprocess.Popen:
    """``jupyter lab`` serving ``root``, its config, data, runtime, settings and workspaces under ``home``."""
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)  # the kernel's figures must be inline images
    for var, sub in (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
                     ("JUPYTER_RUNTIME_DIR", "runtime"), ("JUPYTERLAB_SETTINGS_DIR", "settings"),
                     ("JUPYTERLAB_WORKSPACES_DIR", "workspaces"), ("IPYTHONDIR", "ipython")):
        env[var] = str(home / sub)
        (home / sub).mkdir(parents=True, exist_ok=True)
    for name, values in SETTINGS.items():
        (home / "settings" / name).parent.mkdir(parents=True, exist_ok=True)
        (home / "settings" / name).write_text(json.dumps(values))
    (home / "config" / "jupyter_server_config.json").write_text(json.dumps({"LabApp": {"news_url": None}}))
    cmd = [str(Path(sys.executable).parent / "jupyter"), "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
           f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           "--LabApp.extension_manager=readonly"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    log = open(log_path, "w")
    try:
        return subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    finally:
        log.close()


def _stop(proc: subprocess.Popen, lab: Lab) -> None:
    """Shut the server down cleanly, then kill whatever is left of it (its group and its kernels)."""
    import psutil

    try:
        family = psutil.Process(proc.pid).children(recursive=True)  # kernels run in their own sessions
    except psutil.NoSuchProcess:
        family = []
    with contextlib.suppress(Exception):
        req = urllib.request.Request(f"{lab.url}/api/shutdown", method="POST",
                                     headers={"Authorization": f"token {lab.token}"})
        urllib.request.urlopen(req, timeout=5).close()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    for p in family:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()
    _, alive = psutil.wait_procs(family, timeout=10)
    assert not alive, f"processes left behind by jupyter lab: {[p.pid for p in alive]}"
    deadline = time.time() + 10
    while _port_open(lab.port) and time.time() < deadline:
        time.sleep(0.2)
    assert not _port_open(lab.port), f"port {lab.port} still open after jupyter lab stopped"


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    """A JupyterLab server on the prepared copies of the notebooks; stopped whatever happens."""
    import papermill

    if not CHROMIUM.exists():
        _unavailable(GET_CHROMIUM)
    try:
        import playwright.sync_api  # noqa: F401  (the driver ships inside the wheel)
    except ImportError:
        _unavailable("playwright is not installed: `make install` (it is in the dev extra)")
    base = tmp_path_factory.mktemp("jupyterlab")
    root, figures = base / "notebooks", base / "notebooks" / "figures"
    figures.mkdir(parents=True)
    port, token = _free_port(), secrets.token_hex(16)
    lab = Lab(f"http://127.0.0.1:{port}", token, port, root, figures, base / "jupyter-lab.log")
    proc = _start(root, base / "home", port, token, lab.log)
    try:
        for name in NOTEBOOKS:  # while the server starts
            papermill.execute_notebook(str(ROOT / "notebooks" / f"{name}.ipynb"), str(root / f"{name}.ipynb"),
                                       parameters={"quick": True, "figures_dir": str(figures)}, prepare_only=True,
                                       kernel_name="python3", progress_bar=False)
        deadline = time.time() + 90
        while True:
            code = proc.poll()
            assert code is None, f"jupyter lab exited with {code}:\n{lab.log.read_text()[-3000:]}"
            with contextlib.suppress(OSError):
                urllib.request.urlopen(f"{lab.url}/api/status?token={token}", timeout=2).close()
                break
            assert time.time() < deadline, f"jupyter lab did not answer in 90 s:\n{lab.log.read_text()[-3000:]}"
            time.sleep(0.3)
        yield lab
    finally:
        _stop(proc, lab)


@pytest.fixture(scope="session")
def page(lab, tmp_path_factory):
    """One headless Chromium tab on JupyterLab (system Chromium, fresh profile, no background network)."""
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 860})
        try:
            tab = context.pages[0] if context.pages else context.new_page()
            tab.goto(f"{lab.url}/lab?token={lab.token}")
            tab.wait_for_function("() => !!window.jupyterapp", timeout=60_000)
            tab.evaluate("async () => { await window.jupyterapp.restored; }")
            yield tab
        finally:
            context.close()


# ------------------------------------------------------------------------------------ driving
OPEN = """async (path) => {
  const app = window.jupyterapp;
  const w = await app.commands.execute('docmanager:open', {path, factory: 'Notebook'});
  await w.context.ready;
  await w.sessionContext.ready;
  app.shell.activateById(w.id);
  window.__comodoNotebook = w;
}"""
KERNEL_IDLE = """() => {
  const k = window.__comodoNotebook.sessionContext.session?.kernel;
  return !!k && k.connectionStatus === 'connected' && k.status === 'idle';
}"""
RUN_ALL = """async () => {  // outputs of an earlier run must not count: clear them first
  await window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs');
  window.jupyterapp.commands.execute('notebook:run-all-cells');
}"""
FINISHED = """() => {
  const w = window.__comodoNotebook;
  const k = w.sessionContext.session?.kernel;
  const cells = w.content.widgets.filter(c => c.model.type === 'code');
  const running = cells.some(c => c.model.executionState === 'running'
      || (c.promptNode && c.promptNode.textContent.includes('*')));
  const errored = cells.some(c => c.model.outputs.toJSON().some(o => o.output_type === 'error'));
  const done = cells.every(c => c.model.executionCount !== null);
  return !!k && k.status === 'idle' && !running && (done || errored);
}"""
IMAGES_LOADED = """() => Array.from(window.__comodoNotebook.node.querySelectorAll('.jp-OutputArea-output img'))
  .every(i => i.complete)"""
STATE = """() => {
  const w = window.__comodoNotebook;
  const cells = w.content.widgets.filter(c => c.model.type === 'code');
  const errors = [];
  cells.forEach((c, i) => c.model.outputs.toJSON().forEach(o => {
    if (o.output_type === 'error') errors.push({cell: i, ename: o.ename, evalue: o.evalue});
  }));
  const images = Array.from(w.node.querySelectorAll('.jp-OutputArea-output img'));
  return {errors, code_cells: cells.length,
          executed: cells.filter(c => c.model.executionCount !== null).length,
          images: images.filter(i => i.complete && i.naturalWidth > 0).length};
}"""
SAVE = """async () => { await window.__comodoNotebook.context.save(); }"""
CLOSE = """async () => {
  const w = window.__comodoNotebook;
  await w.sessionContext.shutdown();
  w.close();
}"""


@dataclass
class LabRun:
    """What JupyterLab shows after *Run All Cells* on one notebook, and what it saved."""

    name: str
    errors: list[dict]  # {cell, ename, evalue} of every error output on the page
    code_cells: int
    executed: int  # code cells with an execution count
    images: int  # <img> outputs that loaded (width > 0)
    saved: dict  # the .ipynb JSON on disk after saving


def run_all(page, lab: Lab, name: str, then=None) -> LabRun:
    """Open ``<name>.ipynb``, wait for its kernel, clear its outputs, run all cells, wait until nothing
    runs, save.

    ``then(page)`` is called with the finished notebook still open (to drive its widgets).
    """
    page.evaluate(OPEN, f"{name}.ipynb")
    page.wait_for_function(KERNEL_IDLE, timeout=120_000, polling=200)
    page.evaluate(RUN_ALL)
    page.wait_for_function(FINISHED, timeout=RUN_TIMEOUT_S * 1000, polling=250)
    page.wait_for_function(IMAGES_LOADED, timeout=30_000, polling=200)
    state = page.evaluate(STATE)
    page.evaluate(SAVE)
    if then is not None:
        then(page)
    page.evaluate(CLOSE)
    return LabRun(name, state["errors"], state["code_cells"], state["executed"], state["images"],
                  json.loads((lab.root / f"{name}.ipynb").read_text()))


def problems(run: LabRun, min_images: int) -> list[str]:
    """What a person would object to: errors, cells that did not run, missing figures, an unsaved notebook."""
    out = [f"cell {e['cell']} shows {e['ename']}: {e['evalue']}" for e in run.errors]
    if run.executed < run.code_cells:
        out.append(f"{run.code_cells - run.executed} of {run.code_cells} code cells did not run")
    if run.images < min_images:
        out.append(f"{run.images} figures rendered as images, expected at least {min_images}")
    code = [c for c in run.saved["cells"] if c["cell_type"] == "code"]
    if any(c["execution_count"] is None for c in code) or not any(c["outputs"] for c in code):
        out.append("the saved notebook lacks the outputs of some cells")
    saved_errors = [o for c in code for o in c["outputs"] if o["output_type"] == "error"]
    if saved_errors and not run.errors:
        out.append(f"the saved notebook holds {len(saved_errors)} error outputs")
    return out


def check(run: LabRun, min_images: int) -> None:
    found = problems(run, min_images)
    assert not found, f"{run.name} in JupyterLab: " + "; ".join(found)


# -------------------------------------------------------------------------------------- tests
def test_tour_in_jupyterlab(lab, page):
    screenshot = ROOT / "build" / "jupyterlab_tour.png"

    def shoot(p) -> None:
        p.locator(".jp-OutputArea-output img").nth(3).scroll_into_view_if_needed()  # the distributions
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        p.screenshot(path=str(screenshot))

    run = run_all(page, lab, "01_tour", then=shoot)
    check(run, min_images=len(FIGURES["01_tour"]))
    assert json.loads((lab.figures / "01_tour.json").read_text())["config"]["world_size"] == "quick"
    assert screenshot.stat().st_size > 10_000


def test_distill_in_jupyterlab(lab, page):
    run = run_all(page, lab, "02_distill")
    check(run, min_images=len(FIGURES["02_distill"]))
    assert len(json.loads((lab.figures / "02_distill.json").read_text())["history"]) == 3  # quick: 3 epochs


def test_explore_in_jupyterlab_redraws_when_a_control_changes(lab, page):
    changed: dict[str, str] = {}

    def change_metric(p) -> None:
        plot = p.locator(".comodo-explore .widget-output img").first
        before = plot.get_attribute("src")
        metric = p.locator(".comodo-explore .widget-dropdown", has=p.locator("label", has_text="metric"))
        metric.locator("select").select_option(label="acc3")
        p.wait_for_function("(src) => { const i = document.querySelector("
                            "'.comodo-explore .widget-output img'); "
                            "return i && i.complete && i.getAttribute('src') !== src; }", arg=before,
                            timeout=30_000)
        changed.update(before=before, after=plot.get_attribute("src"))
        p.locator(".comodo-explore").scroll_into_view_if_needed()
        p.screenshot(path=str(ROOT / "build" / "jupyterlab_explore.png"))

    run = run_all(page, lab, "00_explore", then=change_metric)
    check(run, min_images=len(FIGURES["00_explore"]) + 2)  # the static figures and the widgets' two
    assert changed["before"] and changed["after"] and changed["before"] != changed["after"]
    n = json.loads((lab.figures / "00_explore.json").read_text())
    assert n["summary"]["n_runs"] >= 2 and n["summary"]["runs_by_method"]["comodo"] >= 1  # the tour's runs


def test_the_check_reports_a_raising_cell_and_missing_figures(lab, page):
    """Proof that the browser test can fail: a copy of the tour (executed by the first test: its old
    outputs must not count) with a raising cell after its parameters."""
    nb = nbformat.read(lab.root / "01_tour.ipynb", as_version=4)
    params = max(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])
                 or "injected-parameters" in c.metadata.get("tags", []))
    nb.cells.insert(params + 1, nbformat.v4.new_code_cell('raise RuntimeError("injected by the test")'))
    nbformat.write(nb, lab.root / "01_tour_raising.ipynb")
    run = run_all(page, lab, "01_tour_raising")
    found = problems(run, min_images=len(FIGURES["01_tour"]))
    raising = sum(c.cell_type == "code" for c in nb.cells[:params + 1])  # its index among the code cells
    assert found[0] == f"cell {raising} shows RuntimeError: injected by the test"
    assert "figures rendered as images, expected at least 5" in " ".join(found)
    with pytest.raises(AssertionError, match="01_tour_raising in JupyterLab: cell .* RuntimeError"):
        check(run, min_images=5)


def test_without_chromium_the_tests_skip_and_in_ci_they_fail(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install -y chromium"):
        _unavailable(GET_CHROMIUM)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set, so the JupyterLab browser tests may not be skipped: no Chromium"):
        _unavailable(GET_CHROMIUM)
