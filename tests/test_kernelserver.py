"""Kernels forked from the kernel server: separate processes, clean namespaces, same results."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from analysis import kernelserver, pipeline

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="forking kernels needs POSIX")


def _notebook(path: Path, *sources: str) -> Path:
    nb = new_notebook(
        cells=[new_code_cell(s) for s in sources],
        metadata={"kernelspec": {"name": "analysis", "display_name": "Python (analysis)", "language": "python"}},
    )
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"c{i}"
    nbformat.write(nb, path)
    return path


def _probe(name: str) -> str:
    """A cell that records where and how the kernel runs into <name>.json."""
    return (
        "import json, os, sys\n"
        f"json.dump({{'pid': os.getpid(), 'ppid': os.getppid(), 'cwd': os.getcwd(),\n"
        "           'pandas_loaded': 'pandas' in sys.modules, 'leftover': 'leftover' in globals(),\n"
        "           'hashseed': os.environ.get('PYTHONHASHSEED'), 'python': sys.executable},\n"
        f"          open('{name}.json', 'w'))\n"
        "leftover = 1"
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    pipeline.ensure_kernel()
    folder = tmp_path_factory.mktemp("kernels")
    server = pipeline._start_kernel_server(pipeline.PROJECT_KERNEL_NAME, folder)
    assert server is not None, "the project kernel can be forked on this machine"
    yield server, folder
    server.close()


def test_each_notebook_gets_its_own_forked_process_and_a_clean_namespace(server):
    srv, folder = server
    manager = srv.kernel_manager_class()
    for name in ("first", "second"):
        nb = _notebook(folder / f"{name}.ipynb", _probe(name))
        pipeline.execute_notebook(nb, folder / "out" / f"{name}.ipynb", kernel_manager_class=manager)
    first = json.loads((folder / "first.json").read_text())
    second = json.loads((folder / "second.json").read_text())
    server_pid = srv._process.pid
    assert first["ppid"] == second["ppid"] == server_pid  # forked by the server ...
    assert first["pid"] != second["pid"]  # ... one process per notebook
    assert first["pandas_loaded"]  # the libraries are imported before the notebook starts
    assert not second["leftover"]  # nothing of the first notebook is in the second's namespace
    assert Path(first["cwd"]) == folder  # the kernel runs in the notebook's folder
    assert first["hashseed"] == pipeline.PROJECT_KERNEL_ENV["PYTHONHASHSEED"]
    assert os.path.samefile(first["python"], sys.executable)
    for record in (first, second):  # the kernels exited when papermill shut them down
        deadline = time.monotonic() + 10
        while _alive(record["pid"]) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(record["pid"])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is not alive for our purposes: the server reaps its children
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def test_forked_kernels_are_shut_down_without_an_interrupt_and_a_busy_one_still_stops(server, monkeypatch):
    # jupyter_client interrupts a kernel before shutting it down; papermill shuts it down right
    # after a kernel_info reply, so the SIGINT often hit the kernel still in that handler
    # ("ERROR | KeyboardInterrupt caught in kernel." after a successful run).
    import signal

    from jupyter_client.provisioning import LocalProvisioner

    srv, folder = server
    signals = []
    send_signal = LocalProvisioner.send_signal

    async def recording(self, signum):
        signals.append(signum)
        return await send_signal(self, signum)

    monkeypatch.setattr(LocalProvisioner, "send_signal", recording)
    manager = srv.kernel_manager_class()
    nb = _notebook(folder / "quick.ipynb", "x = 1", "y = x + 1")
    pipeline.execute_notebook(nb, folder / "out" / "quick.ipynb", kernel_manager_class=manager)
    assert signal.SIGINT not in signals
    # A kernel busy in a cell that timed out is not interrupted either, but it still stops.
    nb = _notebook(folder / "busy.ipynb", _probe("busy"), "import time\ntime.sleep(120)")
    with pytest.raises(pipeline.NotebookError, match="(?i)timed? ?out"):
        pipeline.execute_notebook(nb, folder / "out" / "busy.ipynb", kernel_manager_class=manager, cell_timeout_s=1)
    pid = json.loads((folder / "busy.json").read_text())["pid"]
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid)
    # Outside a shutdown, an interrupt is still sent (e.g. a cell interrupted on a timeout).
    import asyncio

    idle = manager()
    idle.shutting_down = False
    sent = []

    async def parent_interrupt(self):
        sent.append(True)

    monkeypatch.setattr(type(idle).__mro__[1], "_async_interrupt_kernel", parent_interrupt)
    asyncio.run(idle._async_interrupt_kernel())
    idle.shutting_down = True
    asyncio.run(idle._async_interrupt_kernel())
    assert sent == [True]


def test_failing_cell_in_a_forked_kernel_is_reported_like_any_other(server):
    srv, folder = server
    nb = _notebook(folder / "fails.ipynb", "x = 1", "raise RuntimeError('forked boom')")
    with pytest.raises(pipeline.NotebookError, match="forked boom"):
        pipeline.execute_notebook(nb, folder / "out" / "fails.ipynb", kernel_manager_class=srv.kernel_manager_class())


def test_can_serve_names_why_a_kernel_cannot_be_forked(server):
    srv, _ = server
    cmd = [sys.executable, "-m", "ipykernel_launcher", "-f", "c.json"]
    options = kernelserver.split_kernel_command(cmd)
    assert options == ([], ["-f", "c.json"])
    assert srv.can_serve([sys.executable, *srv.python_options, "-m", "ipykernel_launcher", "-f", "c.json"],
                         {**os.environ, **srv.env}) is None
    assert "PYTHONHASHSEED" in srv.can_serve(
        [sys.executable, *srv.python_options, "-m", "ipykernel_launcher"], {"PYTHONHASHSEED": "123"}
    )
    assert "runs" in srv.can_serve(["/usr/bin/env", *srv.python_options, "-m", "ipykernel_launcher"], srv.env)
    assert "ipykernel_launcher" in srv.can_serve(["R", "--slave"], srv.env)


def test_kernel_with_another_hash_seed_falls_back_to_a_new_interpreter(server, caplog, monkeypatch):
    srv, folder = server
    nb = _notebook(folder / "seed.ipynb", _probe("seed"))
    manager = srv.kernel_manager_class()
    monkeypatch.setattr(srv, "env", {**srv.env, "PYTHONHASHSEED": "7"})  # the kernel's differs now
    with caplog.at_level(logging.WARNING, logger="analysis.kernelserver"):
        pipeline.execute_notebook(nb, folder / "out" / "seed.ipynb", kernel_manager_class=manager)
    assert "starting a new kernel process instead of forking" in caplog.text
    record = json.loads((folder / "seed.json").read_text())
    assert record["ppid"] != srv._process.pid
    assert record["hashseed"] == pipeline.PROJECT_KERNEL_ENV["PYTHONHASHSEED"]  # the kernelspec's, as always


def test_server_stops_when_closed_and_kills_a_kernel_nobody_shuts_down(tmp_path):
    srv = kernelserver.KernelServer(sys.executable, [], {**os.environ}, tmp_path, preload=[], background=[])
    connection = tmp_path / "kernel.json"
    from jupyter_client.connect import write_connection_file

    write_connection_file(str(connection))
    process = srv.start_kernel([sys.executable, "-m", "ipykernel_launcher", "-f", str(connection)],
                               {**os.environ}, tmp_path)
    assert process.poll() is None and _alive(process.pid)
    srv.close()  # the pipeline ends without shutting the kernel down
    assert process.wait(timeout=20) is not None
    assert not _alive(process.pid)
    assert not srv.running


def test_unusable_server_request_is_a_clear_error(tmp_path):
    srv = kernelserver.KernelServer(sys.executable, [], {**os.environ}, tmp_path, preload=[], background=[])
    try:
        with pytest.raises(kernelserver.KernelServerError, match="not an ipykernel command"):
            srv.start_kernel(["R", "--slave"], {}, tmp_path)
    finally:
        srv.close()


class _FakeChannel:
    """An IOPub channel that hands out queued messages, then raises Empty as a silent channel does."""

    def __init__(self, messages):
        self.messages = list(messages)
        self.timeouts = []

    async def get_msg(self, timeout=None):
        from queue import Empty

        self.timeouts.append(timeout)
        if not self.messages:
            raise Empty
        return self.messages.pop(0)


def _status(state: str, parent: str) -> dict:
    return {"msg_type": "status", "content": {"execution_state": state}, "parent_header": {"msg_id": parent}}


@pytest.mark.parametrize(
    ("messages", "answered", "left"),
    [
        # idle for our request: ready at once, later messages stay queued
        ([_status("busy", "k1"), _status("idle", "k1"), _status("busy", "x")], True, 1),
        # idle for another request, then silence: IOPub spoke, so ready (jupyter_client's rule)
        ([_status("busy", "k0"), _status("idle", "k0")], True, 0),
        # nothing at all: IOPub is not connected yet, ask again
        ([], False, 0),
        # the subscription began meanwhile: ask again at once rather than wait for silence
        ([{"msg_type": "iopub_welcome", "content": {}, "parent_header": {}}, _status("idle", "k1")], False, 1),
    ],
)
def test_ready_client_stops_waiting_at_the_idle_status_that_answers_its_request(server, messages, answered, left):
    import asyncio

    srv, _ = server
    manager = srv.kernel_manager_class()()
    client = manager.client()
    assert client.wait_for_ready.__func__ is type(client)._async_wait_for_ready  # the ready client is used
    channel = _FakeChannel(messages)
    client._iopub_channel = channel  # what the iopub_channel property hands out once set
    assert client.iopub_channel is channel
    assert asyncio.run(client._iopub_answered("k1")) is answered
    assert len(channel.messages) == left
    assert all(t == kernelserver.IOPUB_SILENCE_S for t in channel.timeouts)


def test_forking_kernel_manager_polls_a_stopping_kernel_often(server, monkeypatch):
    import asyncio

    srv, _ = server
    manager = srv.kernel_manager_class()()
    seen = []

    async def fake_wait(self, pollinterval=0.1):
        seen.append(pollinterval)

    monkeypatch.setattr(type(manager).__mro__[1], "_async_wait", fake_wait)
    asyncio.run(manager._async_wait())
    assert seen == [kernelserver.SHUTDOWN_POLL_S]


def test_requests_wait_for_the_background_imports_their_notebook_needs(tmp_path):
    # A kernel forked before the server has imported its background modules would import
    # them again itself. A request naming a pending module waits for all of them; one that
    # names only imported modules is served at once; one that names nothing waits after
    # the first kernel.
    for name, seconds in (("background_a", 0.1), ("background_b", 4.0), ("background_c", 0.1)):
        (tmp_path / f"{name}.py").write_text(f"import time\ntime.sleep({seconds})\n")
    spec = pipeline._start_kernel_server(pipeline.PROJECT_KERNEL_NAME, tmp_path)  # the kernelspec's env
    spec.close()
    env = {**spec.env, "PYTHONPATH": os.pathsep.join([str(tmp_path), spec.env.get("PYTHONPATH", "")])}
    # The later requests arrive while background_b is being imported (4 s: room for a slow machine).
    probe = "import json, sys\njson.dump('background_c' in sys.modules, open('{}.json', 'w'))"
    runs = [("first", None), ("names_imported", ["json", "ipykernel.kernelapp"]), ("names_pending", ["background_c"]),
            ("names_nothing", None)]
    for order in (runs, [runs[0], runs[3]]):
        srv = kernelserver.KernelServer(
            spec.python, spec.python_options, env, tmp_path,
            preload=kernelserver.DEFAULT_PRELOAD[:2], background=["background_a", "background_b", "background_c"],
        )
        try:
            for name, imports in order:
                nb = _notebook(tmp_path / f"{name}.ipynb", probe.format(name))
                pipeline.execute_notebook(nb, tmp_path / "out" / f"{name}.ipynb",
                                          kernel_manager_class=srv.kernel_manager_class(imports=imports))
        finally:
            srv.close()
        seen = {name: json.loads((tmp_path / f"{name}.json").read_text()) for name, _ in order}
        if len(order) == len(runs):
            assert seen["names_imported"] is False  # served while background_b was still importing
            assert seen["names_pending"] is True
        else:
            assert seen["names_nothing"] is True


def test_notebook_imports_are_read_from_code_cells():
    cells = ["import pandas as pd\nfrom analysis import corpus, topics\n", "from . import local",
             "%matplotlib inline", "def f():\n    import json\n    from os import path as p\n"]
    assert kernelserver.notebook_imports(cells) == [
        "analysis", "analysis.corpus", "analysis.topics", "json", "os", "os.path", "pandas"
    ]


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_an_exited_kernel_is_seen_before_the_server_reaps_it():
    # While the server imports a large module it reaps no kernel; the client still sees
    # the exit (and its code) from /proc, so papermill's shutdown does not wait for it.
    import subprocess

    child = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    deadline = time.monotonic() + 10
    while kernelserver._unreaped_exit_code(child.pid) is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert kernelserver._unreaped_exit_code(child.pid) == 3  # exited, not yet reaped
    child.wait()
    assert kernelserver._unreaped_exit_code(child.pid) is None  # reaped: the server reports it
    running = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)"])
    try:
        assert kernelserver._unreaped_exit_code(running.pid) is None
    finally:
        running.kill()
        running.wait()
