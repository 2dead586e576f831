"""Start notebook kernels by forking one process that has already imported the analysis stack.

Every notebook of the pipeline runs in a kernel of its own. A fresh kernel
spends 1-3.5 s importing pandas, matplotlib, scikit-learn and reading jieba's
dictionary before its first line of analysis, more than an empty notebook's
whole cost. A *kernel server* pays that once per run: it imports those
libraries and loads the word lists and the CJK font (nothing of any notebook),
then forks one child per notebook, and the child starts an ordinary IPython
kernel. Each notebook still gets a process of its own with an empty namespace;
all it shares with the others is what its own ``import`` lines would have
produced anyway (the same modules, read from the same files).

The flow: :class:`KernelServer` starts ``python -m analysis.kernelserver``
with the kernelspec's interpreter and environment; :meth:`KernelServer.
kernel_manager_class` gives a ``jupyter_client`` kernel manager whose
provisioner asks the server for a kernel instead of starting a new
interpreter, and falls back to starting one when the server cannot serve
(another interpreter or hash seed in the kernelspec, server gone).

POSIX only (``os.fork``). :func:`analysis.pipeline.run_notebooks` uses
ordinary kernels where it is unavailable or the server fails to start.

Protocol (one Unix socket connection per kernel): the client sends one JSON
line ``{"argv": [...], "env": {...}, "cwd": "..."}``; the server answers
``{"pid": N}`` (or ``{"error": "..."}``) and, when the kernel exits,
``{"returncode": N}``. A connection closed by the client while its kernel runs
gets the kernel killed; the server exits when its standard input closes (the
pipeline ended) and its kernels exit when the server does.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_BACKGROUND",
    "DEFAULT_PRELOAD",
    "KernelServer",
    "PROJECT_KERNEL_NAME",
    "KernelServerError",
    "notebook_imports",
    "serve",
    "start_for_kernelspec",
    "split_kernel_command",
]

logger = logging.getLogger(__name__)

#: Name of the project's Jupyter kernel (registered by ``python -m analysis kernel``).
PROJECT_KERNEL_NAME = "analysis"

#: Modules the server imports before it serves the first kernel: the kernel
#: itself and what every notebook imports.
DEFAULT_PRELOAD: tuple[str, ...] = (
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "ipykernel.debugger",  # imported by every kernel at start (debugpy: 0.1 s)
    # imported while each kernel initialises its shell (30 ms a kernel)
    "IPython.core.completerlib",
    "IPython.core.debugger",
    "IPython.core.oinspect",
    "IPython.extensions.storemagic",
    "sqlite3",
    "tornado.platform.asyncio",
    "IPython.display",
    "numpy",
    "pandas",
    "pyarrow.parquet",
    "matplotlib.figure",
    "matplotlib.backends.backend_agg",
    "analysis.storage",
    "analysis.corpus",
    "analysis.figures",
)
#: Modules imported afterwards, one at a time while no kernel request waits,
#: so the first notebook runs while the server goes on importing for the later ones.
DEFAULT_BACKGROUND: tuple[str, ...] = (
    # Quick ones first: notebooks that need only these need not wait for the slow ones.
    "analysis.metrics",
    "analysis.tabulate",
    "analysis.formulaic",
    "analysis.places",
    "analysis.compare",
    # scikit-learn (1.5 s) in steps, the longest scipy.stats (0.8 s, one package): a kernel
    # request that does not need it (03, 04) is served between two steps, not after all of it.
    "scipy.sparse",
    "scipy.special",
    "scipy.sparse.linalg",
    "scipy.optimize",
    "scipy.stats",
    "sklearn.base",
    "sklearn.metrics",
    "sklearn.linear_model",
    "sklearn.decomposition",
    "sklearn.feature_extraction.text",
    "analysis.topics",
    "analysis.tokens",  # 1.4 s, most of it jieba's dictionary
)
#: Kernels served as soon as the preload is done when their request does not name the notebook's
#: imports; later such requests wait for the background imports (see ``_must_wait``).
EARLY_KERNELS = 1
#: Seconds to wait for the server's answer to a kernel request (it answers
#: once its imports are done).
REQUEST_TIMEOUT_S = 120.0
_LAUNCHER_MODULES = ("ipykernel_launcher", "ipykernel")
#: How often a kernel asked to shut down is checked for having exited.
SHUTDOWN_POLL_S = 0.01
#: Silence on IOPub after which a kernel that has not reported itself idle counts as
#: ready if it said anything (``jupyter_client``'s own rule) and as unconnected if not.
IOPUB_SILENCE_S = 0.2


class KernelServerError(RuntimeError):
    """The kernel server could not start or could not start a kernel."""


# ---------------------------------------------------------------- server side


def _send(conn: socket.socket, message: Mapping[str, Any]) -> None:
    with contextlib.suppress(OSError):
        conn.sendall((json.dumps(dict(message)) + "\n").encode("utf-8"))


def _warm_tokens(module: Any) -> None:
    module.tokenize("学党史办实事")  # word lists, jieba's dictionary, gazetteer words


def _warm_figures(module: Any) -> None:
    # What the first plot does: register the font, then load its file and glyph tables into
    # matplotlib's font caches by drawing a throw-away figure with Chinese text.
    import io

    import pandas as pd

    module.setup_cjk_font(strict=False)
    frame = pd.DataFrame({"类别": ["学党史", "办实事"], "value": [1.0, 2.0]})
    figure = module.plot_bar(frame, category="类别", value="value", title="预热 warm-up")
    figure.savefig(io.BytesIO(), format="png", dpi=module.FIGURE_DPI)


#: After importing one of these modules, do what its first use would do anyway,
#: from the same files.
_WARM_UP = {"analysis.tokens": _warm_tokens, "analysis.figures": _warm_figures}


def _import(name: str) -> None:
    """Import ``name`` (and warm it up); a failure is left for the notebook's own import to report."""
    try:
        module = importlib.import_module(name)
        if name in _WARM_UP:
            _WARM_UP[name](module)
    except Exception as exc:  # noqa: BLE001 - the notebook's own import will report it
        print(f"kernel server: could not preload {name}: {type(exc).__name__}: {exc}", file=sys.stderr)


def _run_kernel(request: Mapping[str, Any]) -> int:
    """In the forked child: become an ordinary ipykernel process as ``python -m ipykernel_launcher`` would."""
    os.setsid()  # own process group, as jupyter_client's launcher gives a kernel
    for signum in (signal.SIGCHLD, signal.SIGINT, signal.SIGTERM, signal.SIGPIPE):
        signal.signal(signum, signal.SIG_DFL)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    # The kernel exits when its parent (this server) goes away.
    os.environ["JPY_PARENT_PID"] = str(os.getppid())
    # ipykernel reads JPY_PARENT_PID when it is imported (here: in the server), so pass it explicitly.
    sys.argv = ["ipykernel_launcher", *request["argv"], f"--IPKernelApp.parent_handle={os.getppid()}"]
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()
    return 0


def _fork_kernel(conn: socket.socket, request: Mapping[str, Any], close_in_child: Sequence[Any]) -> int:
    # Objects that exist now are never collected in the child: its garbage collector then
    # leaves their memory pages alone, instead of copying them all on its first pass.
    gc.freeze()
    pid = os.fork()
    if pid == 0:  # child
        code = 1
        try:
            signal.set_wakeup_fd(-1)
            for item in (*close_in_child, conn):
                with contextlib.suppress(OSError):
                    if isinstance(item, int):
                        os.close(item)
                    else:
                        item.close()
            code = _run_kernel(request)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:  # noqa: BLE001 - report and exit the child, never return into the server loop
            traceback.print_exc()
        finally:
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code)
    return pid


def _must_wait(request: Mapping[str, Any], pending: Sequence[str], served: int) -> bool:
    """Whether to hold a kernel request until the background imports are done.

    A kernel forked before then imports in its own process what the server is
    still importing, which costs the CPU that the notebooks running meanwhile
    need. So a request that names its notebook's imports waits if one of them
    is still pending (and then for all of them: a module may need the others);
    a request that does not waits once :data:`EARLY_KERNELS` kernels are served.

    >>> _must_wait({"imports": ["analysis.metrics"]}, ["analysis.topics"], served=3)
    False
    >>> _must_wait({"imports": ["analysis.topics"]}, ["analysis.topics", "analysis.tokens"], served=0)
    True
    >>> _must_wait({}, ["analysis.topics"], served=0), _must_wait({}, ["analysis.topics"], served=1)
    (False, True)
    """
    if not pending:
        return False
    imports = request.get("imports")
    if imports is None:
        return served >= EARLY_KERNELS
    return not set(imports).isdisjoint(pending)


def _read_request(conn: socket.socket) -> dict[str, Any]:
    data = b""
    conn.settimeout(10)
    while not data.endswith(b"\n"):
        chunk = conn.recv(65536)
        if not chunk:
            raise ValueError("connection closed before a complete request")
        data += chunk
    request = json.loads(data.decode("utf-8"))
    imports = request.get("imports", [])
    if not (isinstance(request.get("argv"), list) and isinstance(request.get("env"), dict)
            and isinstance(request.get("cwd"), str)
            and isinstance(imports, list) and all(isinstance(name, str) for name in imports)):
        raise ValueError(f"bad request: {request!r}")
    return request


def serve(
    socket_path: str | Path,
    preload: Iterable[str] = DEFAULT_PRELOAD,
    background: Iterable[str] = DEFAULT_BACKGROUND,
) -> None:
    """Run the kernel server on ``socket_path`` until standard input closes.

    ``preload`` is imported before the first kernel is served, ``background``
    one module at a time whenever no request waits. A request whose notebook
    imports a module still pending is held until ``background`` is imported
    (:func:`_must_wait`).
    """
    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]  # as ipykernel_launcher: the kernel adds the cwd back itself
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(socket_path))
    listener.listen(16)  # clients may connect (and queue) while the imports run
    # As ipykernel does before anything imports matplotlib: the inline backend by default.
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    for name in preload:
        _import(name)
    pending = list(background)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    os.set_blocking(wake_r, False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.set_wakeup_fd(wake_w)
    kernels: dict[int, socket.socket] = {}  # pid -> connection of the client that asked for it
    held: list[tuple[socket.socket, dict[str, Any]]] = []  # requests waiting for the background imports
    stdin_open = True
    served = 0

    def serve_request(conn: socket.socket, request: Mapping[str, Any]) -> None:
        nonlocal served
        try:
            pid = _fork_kernel(conn, request, [listener, wake_r, wake_w, *kernels.values(), *(c for c, _ in held)])
        except Exception as exc:  # noqa: BLE001 - answer the client, keep serving
            _send(conn, {"error": f"{type(exc).__name__}: {exc}"})
            conn.close()
            return
        kernels[pid] = conn
        served += 1
        _send(conn, {"pid": pid})

    try:
        while stdin_open or kernels:
            if held and not pending:
                for conn, request in held:  # in the order they came
                    serve_request(conn, request)
                held.clear()
            watched: list[Any] = [listener, wake_r, *kernels.values(), *(c for c, _ in held)]
            if stdin_open:
                watched.append(sys.stdin)
            readable, _, _ = select.select(watched, [], [], 0 if pending and stdin_open else 1.0)
            if not readable and pending and stdin_open:
                _import(pending.pop(0))
                continue
            if sys.stdin in readable and not os.read(sys.stdin.fileno(), 4096):
                stdin_open = False  # the pipeline is done (or gone): stop taking requests
                for pid in kernels:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(pid, signal.SIGTERM)
                for conn, _ in held:
                    conn.close()
                held.clear()
            if wake_r in readable:
                with contextlib.suppress(BlockingIOError):
                    os.read(wake_r, 4096)
            for pid, conn in list(kernels.items()):
                if conn in readable:
                    # The client hung up while its kernel runs: nobody will shut it down.
                    with contextlib.suppress(OSError):
                        if not conn.recv(1):
                            with contextlib.suppress(ProcessLookupError):
                                os.killpg(pid, signal.SIGKILL)
            for conn, request in list(held):
                if conn in readable:  # a client gave up waiting: start no kernel for it
                    held.remove((conn, request))
                    conn.close()
            while kernels:
                try:
                    pid, status = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:
                    break
                if pid == 0:
                    break
                conn = kernels.pop(pid, None)
                if conn is not None:
                    _send(conn, {"returncode": os.waitstatus_to_exitcode(status)})
                    conn.close()
            if listener in readable and stdin_open:
                conn, _ = listener.accept()
                try:
                    request = _read_request(conn)
                except Exception as exc:  # noqa: BLE001 - answer the client, keep serving
                    _send(conn, {"error": f"{type(exc).__name__}: {exc}"})
                    conn.close()
                    continue
                if _must_wait(request, pending, served):
                    held.append((conn, request))
                else:
                    serve_request(conn, request)
    finally:
        listener.close()
        with contextlib.suppress(OSError):
            os.unlink(socket_path)


# ---------------------------------------------------------------- client side


class ForkedKernelProcess:
    """The ``subprocess.Popen`` subset that ``jupyter_client`` uses, for a kernel forked by the server."""

    stdin = stdout = stderr = None

    def __init__(self, conn: socket.socket, pid: int) -> None:
        self._conn = conn
        self._buffer = b""
        self.pid = pid
        self.returncode: int | None = None

    def _read(self, timeout: float | None) -> None:
        if self.returncode is not None:
            return
        self._conn.settimeout(timeout)
        try:
            chunk = self._conn.recv(4096)
        except (BlockingIOError, TimeoutError):
            return
        except OSError:
            chunk = b""
        if not chunk:  # server gone: its kernels exit with it (their parent poller)
            self.returncode = self._wait_gone()
            self._conn.close()
            return
        self._buffer += chunk
        while b"\n" in self._buffer:
            line, self._buffer = self._buffer.split(b"\n", 1)
            message = json.loads(line.decode("utf-8"))
            if "returncode" in message:
                self.returncode = int(message["returncode"])
                self._conn.close()

    def _alive(self) -> bool:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def _wait_gone(self, timeout: float = 10.0) -> int:
        deadline = time.monotonic() + timeout
        while self._alive():
            if time.monotonic() > deadline:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)
                break
            time.sleep(0.05)
        return -signal.SIGKILL  # the real exit code went with the server

    def poll(self) -> int | None:
        """The exit code, or None while the kernel runs.

        The server reports the exit when it next gets to it, which can be a
        second later if it is importing a large module meanwhile; an exited
        kernel that the server has not reaped yet is recognised at once where
        ``/proc`` shows it (Linux).
        """
        self._read(0)
        if self.returncode is None:
            self.returncode = _unreaped_exit_code(self.pid)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Block until the kernel exits; its exit code."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(["forked kernel", str(self.pid)], timeout)
            self._read(0.1)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, signum: int) -> None:
        """Signal the kernel process (not the server)."""
        if self.poll() is None:
            os.kill(self.pid, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def _unreaped_exit_code(pid: int) -> int | None:
    """Exit code of process ``pid`` if it has exited and waits to be reaped (a zombie), else None.

    Read from ``/proc/<pid>/stat`` (field 52, the wait status, Linux 3.5+); None
    where that is not available.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    if not fields or fields[0] != b"Z" or len(fields) < 50:
        return None
    return os.waitstatus_to_exitcode(int(fields[49]))


def notebook_imports(sources: Iterable[str]) -> list[str]:
    """Modules that code cells import: ``import a.b`` gives ``a.b``; ``from a import b`` gives ``a`` and ``a.b``.

    Cells that are not plain Python (magics) are skipped; relative imports are ignored.

    >>> notebook_imports(["import pandas as pd\\nfrom analysis import corpus, topics", "%time x = 1"])
    ['analysis', 'analysis.corpus', 'analysis.topics', 'pandas']
    """
    import ast

    names: set[str] = set()
    for source in sources:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names if alias.name != "*")
    return sorted(names)


def split_kernel_command(cmd: Sequence[str]) -> tuple[list[str], list[str]] | None:
    """``(interpreter options, launcher arguments)`` of ``python [opts] -m ipykernel_launcher [args]``.

    None for any other command.

    >>> split_kernel_command(["py", "-Xfrozen_modules=off", "-m", "ipykernel_launcher", "-f", "c.json"])
    (['-Xfrozen_modules=off'], ['-f', 'c.json'])
    >>> split_kernel_command(["R", "--slave"]) is None
    True
    """
    cmd = list(cmd)
    for i in range(1, len(cmd) - 1):
        if cmd[i] == "-m":
            if cmd[i + 1] in _LAUNCHER_MODULES:
                return cmd[1:i], cmd[i + 2:]
            return None
    return None


def _ready_kernel_client_class() -> type:
    from queue import Empty

    from jupyter_client.asynchronous import AsyncKernelClient
    from jupyter_core.utils import ensure_async

    class ReadyKernelClient(AsyncKernelClient):
        """A kernel client that is ready as soon as the kernel has answered on both channels.

        ``jupyter_client`` waits for a ``kernel_info`` reply, then for any IOPub
        message, then until IOPub has been silent for 0.2 s; that last wait
        is a fixed 0.2 s per notebook. This client stops waiting at the IOPub
        ``idle`` status that answers its ``kernel_info`` request, and otherwise
        behaves the same (a kernel whose IOPub stays silent is asked again).
        """

        async def _async_wait_for_ready(self, timeout: float | None = None) -> None:
            deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
            while True:
                self.kernel_info()
                try:
                    reply = await ensure_async(self.shell_channel.get_msg(timeout=1))
                except Empty:
                    reply = None
                if reply is not None and reply["msg_type"] == "kernel_info_reply":
                    if await self._iopub_answered(reply["parent_header"].get("msg_id")):
                        self._handle_kernel_info_reply(reply)
                        break
                if not await self._async_is_alive():
                    raise RuntimeError("Kernel died before replying to kernel_info")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Kernel didn't respond in {timeout:g} seconds")
            with contextlib.suppress(Empty):  # drop what else the start published
                while True:
                    await ensure_async(self.iopub_channel.get_msg(timeout=0))

        wait_for_ready = _async_wait_for_ready  # the base class binds its own coroutine to this name

        async def _iopub_answered(self, request_id: str | None) -> bool:
            """Whether IOPub is connected: it reported the kernel idle after ``request_id``, or spoke at all.

            False at once on IOPub's welcome message: the subscription may have
            begun after the answer to ``request_id`` was published, so ask again.
            """
            heard = False
            while True:
                try:
                    msg = await ensure_async(self.iopub_channel.get_msg(timeout=IOPUB_SILENCE_S))
                except Empty:
                    return heard
                if msg["msg_type"] == "iopub_welcome":
                    return False
                heard = True
                if (msg["msg_type"] == "status" and msg["content"].get("execution_state") == "idle"
                        and msg["parent_header"].get("msg_id") == request_id):
                    return True

    return ReadyKernelClient


class KernelServer:
    """A running kernel server: start it, hand its kernel manager class to papermill, close it.

    Parameters
    ----------
    python : str or Path
        Interpreter of the kernelspec; kernels it would start are forked from
        a server running this interpreter.
    python_options : sequence of str
        Interpreter options of the kernelspec (e.g. ``-Xfrozen_modules=off``),
        given to the server too.
    env : mapping
        Environment of the server (the kernelspec's ``env`` over the current
        environment). Settings fixed at interpreter start, such as
        ``PYTHONHASHSEED``, must match the kernels'.
    cwd : str or Path
        Working folder of the server (kernels get their own).
    preload : iterable of str, default=DEFAULT_PRELOAD
        Modules to import before the first kernel is forked.
    background : iterable of str, default=DEFAULT_BACKGROUND
        Modules to import between kernel requests.

    Examples
    --------
    ::

        with KernelServer(sys.executable, [], env, notebooks_dir) as server:
            papermill.execute_notebook(..., kernel_manager_class=server.kernel_manager_class())
    """

    def __init__(
        self,
        python: str | Path,
        python_options: Sequence[str],
        env: Mapping[str, str],
        cwd: str | Path,
        preload: Iterable[str] = DEFAULT_PRELOAD,
        background: Iterable[str] = DEFAULT_BACKGROUND,
    ) -> None:
        if not hasattr(os, "fork") or not hasattr(socket, "AF_UNIX"):
            raise KernelServerError("forking kernels needs a POSIX system (os.fork and Unix sockets)")
        self.python = str(python)
        self.python_options = [str(o) for o in python_options]
        self.env = {str(k): str(v) for k, v in env.items()}
        self._tmp = tempfile.TemporaryDirectory(prefix="analysis-kernels-")
        self.socket_path = str(Path(self._tmp.name) / "server.sock")
        self._process = subprocess.Popen(
            [self.python, *self.python_options, "-m", "analysis.kernelserver", self.socket_path,
             "--preload", *preload, "--background", *background],
            stdin=subprocess.PIPE,
            cwd=str(cwd),
            env=self.env,
        )

    def __enter__(self) -> KernelServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def running(self) -> bool:
        """True while the server process runs."""
        return self._process.poll() is None

    def can_serve(self, cmd: Sequence[str], env: Mapping[str, str] | None) -> str | None:
        """Why a kernel with this command and environment cannot be forked from the server, or None."""
        if not self.running:
            return f"the kernel server exited with code {self._process.returncode}"
        split = split_kernel_command(cmd)
        if split is None:
            return f"the kernel command {list(cmd)!r} does not run ipykernel_launcher"
        if split[0] != self.python_options:
            return f"the kernel's interpreter options {split[0]} differ from the server's {self.python_options}"
        try:
            same = os.path.samefile(cmd[0], self.python)
        except OSError:
            same = False
        if not same:
            return f"the kernel runs {cmd[0]}, the server {self.python}"
        env = os.environ if env is None else env
        if env.get("PYTHONHASHSEED") != self.env.get("PYTHONHASHSEED"):
            return "the kernel's PYTHONHASHSEED differs from the server's"
        return None

    def start_kernel(
        self, cmd: Sequence[str], env: Mapping[str, str], cwd: str | Path, *, imports: Iterable[str] | None = None
    ) -> ForkedKernelProcess:
        """Ask the server for a kernel running ``cmd``'s launcher arguments in ``cwd`` with ``env``.

        ``imports``: the modules the notebook imports, if known; the server
        holds the request while one of them is still being imported.
        """
        split = split_kernel_command(cmd)
        if split is None:
            raise KernelServerError(f"not an ipykernel command: {list(cmd)!r}")
        argv = split[1]
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        deadline = time.monotonic() + REQUEST_TIMEOUT_S
        while True:
            try:
                conn.connect(self.socket_path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if not self.running or time.monotonic() > deadline:
                    conn.close()
                    raise KernelServerError(
                        f"the kernel server is not accepting requests (exit code {self._process.poll()})"
                    ) from None
                time.sleep(0.02)
        request: dict[str, Any] = {"argv": argv, "env": dict(env), "cwd": str(cwd)}
        if imports is not None:
            request["imports"] = sorted(set(imports))
        conn.sendall((json.dumps(request) + "\n").encode("utf-8"))
        conn.settimeout(max(1.0, deadline - time.monotonic()))
        data = b""
        try:
            while not data.endswith(b"\n"):
                chunk = conn.recv(4096)
                if not chunk:
                    break
                data += chunk
        except TimeoutError:
            pass
        if not data.endswith(b"\n"):
            conn.close()
            raise KernelServerError("the kernel server did not answer the kernel request")
        answer = json.loads(data.decode("utf-8"))
        if "pid" not in answer:
            conn.close()
            raise KernelServerError(f"the kernel server could not start a kernel: {answer.get('error')}")
        return ForkedKernelProcess(conn, int(answer["pid"]))

    def kernel_manager_class(self, *, imports: Iterable[str] | None = None) -> type:
        """An ``AsyncKernelManager`` subclass whose kernels come from this server.

        ``imports``: the modules its notebook imports (:func:`notebook_imports`),
        so that the server forks the kernel once those are imported.
        """
        imports = None if imports is None else sorted(set(imports))
        from jupyter_client.manager import AsyncKernelManager
        from jupyter_client.provisioning import LocalProvisioner
        from traitlets import default

        server = self
        ReadyKernelClient = _ready_kernel_client_class()  # noqa: N806 - a class

        class ForkingProvisioner(LocalProvisioner):
            """Launch the kernel by forking the server; start a new interpreter when it cannot."""

            async def launch_kernel(self, cmd: list[str], **kwargs: Any):  # noqa: ANN201
                env = kwargs.get("env")
                cwd = kwargs.get("cwd") or os.getcwd()
                reason = server.can_serve(cmd, env)
                if reason is None:
                    try:
                        process = server.start_kernel(
                            cmd, os.environ if env is None else env, cwd, imports=imports
                        )
                    except (KernelServerError, OSError, ValueError) as exc:
                        reason = str(exc)
                    else:
                        self.process = process
                        self.pid = process.pid
                        self.pgid = process.pid  # the child calls setsid()
                        self.cwd = cwd
                        return self.connection_info
                logger.warning("starting a new kernel process instead of forking one: %s", reason)
                return await super().launch_kernel(cmd, **kwargs)

        class ForkingKernelManager(AsyncKernelManager):
            """Kernel manager whose provisioner forks kernels from the pipeline's kernel server.

            Its clients are :class:`ReadyKernelClient`, it checks every 10 ms
            (instead of 100 ms) whether a kernel asked to shut down has exited,
            and it does not interrupt a kernel before shutting it down.
            """

            @default("client_factory")
            def _client_factory_default(self) -> type:
                return ReadyKernelClient

            async def _async_wait(self, pollinterval: float = 0.1) -> None:
                await super()._async_wait(pollinterval=min(pollinterval, SHUTDOWN_POLL_S))

            async def _async_interrupt_kernel(self) -> None:
                # jupyter_client interrupts every kernel before asking it to shut down. papermill
                # asks for kernel_info after the last cell and shuts the kernel down on the reply,
                # so the SIGINT often lands while the kernel is still in that request's handler,
                # which logs "ERROR | KeyboardInterrupt caught in kernel." in a run that succeeded.
                # A kernel shut down by the pipeline is idle, unless a cell timed out; ipykernel
                # takes the shutdown request on its control thread, and a kernel still running
                # after half of `shutdown_wait_time` gets SIGTERM, then SIGKILL.
                if self.shutting_down:
                    return
                await super()._async_interrupt_kernel()

            async def _async_pre_start_kernel(self, **kw: Any):  # noqa: ANN202
                if self.provisioner is None:
                    import uuid

                    self.kernel_id = self.kernel_id or kw.pop("kernel_id", str(uuid.uuid4()))
                    self.provisioner = ForkingProvisioner(
                        kernel_id=self.kernel_id, kernel_spec=self.kernel_spec, parent=self
                    )
                return await super()._async_pre_start_kernel(**kw)

        return ForkingKernelManager

    def close(self) -> None:
        """Stop the server: close its standard input, then wait (terminate after 10 s)."""
        if self._process.stdin is not None and not self._process.stdin.closed:
            with contextlib.suppress(OSError):
                self._process.stdin.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._tmp.cleanup()


def start_for_kernelspec(kernel_name: str, cwd: str | Path) -> KernelServer | None:
    """A kernel server for this kernelspec's interpreter, or None (with a logged reason) if it cannot run.

    Imports only jupyter_client's kernelspec module, so a command line can start
    the server before its own heavier imports (the server imports meanwhile).
    """
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(kernel_name)
    except NoSuchKernel:
        return None  # papermill reports the missing kernel itself
    split = split_kernel_command(spec.argv)
    if split is None:
        logger.info("kernel %r is not an ipykernel; each notebook starts its own kernel", kernel_name)
        return None
    try:
        return KernelServer(spec.argv[0], split[0], {**os.environ, **(spec.env or {})}, cwd=cwd)
    except (KernelServerError, OSError) as exc:
        logger.warning("each notebook starts its own kernel: %s", exc)
        return None


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m analysis.kernelserver SOCKET [--preload MODULE ...] [--background MODULE ...]``."""
    import argparse

    parser = argparse.ArgumentParser(prog="analysis.kernelserver", description=__doc__.splitlines()[0])
    parser.add_argument("socket", help="path of the Unix socket to listen on")
    parser.add_argument("--preload", nargs="*", default=list(DEFAULT_PRELOAD), metavar="MODULE")
    parser.add_argument("--background", nargs="*", default=list(DEFAULT_BACKGROUND), metavar="MODULE")
    args = parser.parse_args(argv)
    serve(args.socket, args.preload, args.background)
    return 0


if __name__ == "__main__":
    exit_code = main()
    # Nothing is left to clean up: skip tearing down the imported libraries, which would
    # hold up the end of the pipeline by most of a second.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(exit_code)
