"""The embedded stack's processes — Temporal dev server, worker, API — started and stopped
the same way for `make run` (scripts/run.py) and `make bench` (bench/bench.py).

Each process gets its own session (a Ctrl-C reaches only the launcher, which stops the rest
in order) and, on Linux, dies with its launcher even when the launcher is killed. Stopping
sends SIGTERM newest first and waits (the worker lets in-flight sends finish), then kills
whatever is still there. `Supervisor` restarts a process that exits on its own, with backoff.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import os
import re
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

from core.temporal import EMBEDDED_SERVER_SQLITE

ROOT = Path(__file__).resolve().parent.parent
TEMPORAL = Path(sysconfig.get_path("scripts")) / "temporal"
STOP_TIMEOUT = 40  # the worker gives in-flight activities 30 s
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def temporal_command(
    *, db_file: Path, port: int, ui_port: int | None, log_level: str = "warn"
) -> list[str]:
    """The Temporal dev server on `port`, persisting to `db_file` in WAL mode; its web UI on
    `ui_port` (None: headless)."""
    ui = ["--ui-port", str(ui_port)] if ui_port is not None else ["--headless"]
    return [
        str(TEMPORAL), "server", "start-dev",
        "--db-filename", str(db_file),
        "--ip", "127.0.0.1",
        "--port", str(port),
        *ui,
        "--log-level", log_level,
        *EMBEDDED_SERVER_SQLITE,
    ]  # fmt: skip


def temporal_db_file(state_dir: Path, database_url: str) -> Path:
    """Where the embedded Temporal server keeps the journeys of the database at `database_url`.

    SQLite mode keeps `temporal.db`. Any other database (PostgreSQL mode) gets a file of its
    own, named after its backend, database name and a hash of its user, host, port and name,
    e.g. `temporal-postgresql-facet-1a2b3c4d.db`: journeys of one database never share a
    Temporal server (or its UI) with another's, and switching DATABASE_URL back and forth
    resumes each one's own journeys.
    """
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return state_dir / "temporal.db"
    backend = url.get_backend_name()  # the driver (psycopg or another) does not matter
    identity = f"{backend}://{url.username}@{url.host}:{url.port}/{url.database}"
    digest = hashlib.sha256(identity.encode()).hexdigest()[:8]
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", url.database or "default")
    return state_dir / f"temporal-{backend}-{name}-{digest}.db"


WORKER_COMMAND = [sys.executable, "worker.py"]


def api_command(port: int) -> list[str]:
    return [
        sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
    ]  # fmt: skip


def port_taken(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _die_with_launcher() -> None:
    """In the child, before exec: ask Linux for SIGTERM when the launcher dies (even by
    SIGKILL), so no orphan keeps the ports and files of the next run."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU the process `pid` has used so far (Linux /proc; None elsewhere or
    once it has gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # after "(comm)": state is fields[0]
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class StackFailed(RuntimeError):
    """A process of the stack exited, or did not come up in time."""


@dataclass(frozen=True)
class _Launch:
    """How a process was started, so that it can be started again the same way."""

    command: list[str]
    log: Path | None
    env: dict[str, str] | None


@dataclass
class Stack:
    """The processes started so far, oldest first; `say` tells the user what happens."""

    say: Callable[[str], None] = print
    processes: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)
    _launches: dict[str, _Launch] = field(default_factory=dict)
    _started_at: dict[str, float] = field(default_factory=dict)

    def start(
        self,
        name: str,
        command: list[str],
        *,
        log: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.Popen[bytes]:
        """Start a process (its output to `log`, else the launcher's terminal)."""
        process = self._spawn(command, log, env)
        self.say(f"{name} started (pid {process.pid})")
        self._launches[name] = _Launch(command, log, env)
        self._started_at[name] = time.monotonic()
        self.processes.append((name, process))
        return process

    def restart(self, name: str) -> subprocess.Popen[bytes]:
        """Start `name` again as it was first started, in its place in the stopping order."""
        launch = self._launches[name]
        process = self._spawn(launch.command, launch.log, launch.env)
        self._started_at[name] = time.monotonic()
        self.processes = [(each, process if each == name else old) for each, old in self.processes]
        return process

    def process(self, name: str) -> subprocess.Popen[bytes]:
        return next(process for each, process in self.processes if each == name)

    def seconds_up(self, name: str) -> float:
        """How long the current process of `name` has been (or had been) running."""
        return time.monotonic() - self._started_at[name]

    @staticmethod
    def _spawn(
        command: list[str], log: Path | None, env: dict[str, str] | None
    ) -> subprocess.Popen[bytes]:
        output = log.open("ab") if log else None
        try:
            process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT if output else None,
                start_new_session=True,
                preexec_fn=_die_with_launcher,  # safe here: the launchers run no threads
            )
        finally:
            if output is not None:
                output.close()  # the child holds its own copy
        return process

    def stopped(self) -> list[str]:
        """The names of processes that have exited."""
        return [name for name, process in self.processes if process.poll() is not None]

    def check_running(self) -> None:
        for name, process in self.processes:
            if process.poll() is not None:
                raise StackFailed(f"{name} exited with code {process.returncode}")

    def wait_for_port(self, port: int, what: str, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.check_running()
            if port_taken(port):
                return
            time.sleep(0.2)
        raise StackFailed(f"{what} did not open port {port} within {seconds:.0f} s")

    def wait_for_health(self, api_base: str, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.check_running()
            try:
                with urllib.request.urlopen(f"{api_base}/healthz", timeout=3) as response:
                    if response.status == 200:
                        return
            except (OSError, urllib.error.HTTPError):
                pass
            time.sleep(0.3)
        raise StackFailed(f"the API did not become healthy within {seconds:.0f} s")

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM by pid, newest first; kill whatever is still there after the timeout."""
        for name, process in reversed(self.processes):
            if process.poll() is not None:
                continue
            self.say(f"stopping {name} (pid {process.pid}) …")
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def cpu_seconds(self) -> dict[str, float]:
        """User + system CPU each running process has used so far (Linux /proc; else empty)."""
        used: dict[str, float] = {}
        for name, process in self.processes:
            seconds = process_cpu_seconds(process.pid)
            if seconds is not None:
                used[name] = seconds
        return used


@dataclass
class Supervisor:
    """Starts again whatever process of the stack exits on its own, with backoff.

    A process that dies is started again after `first_delay` seconds; one that dies again
    soon after waits twice as long each time, up to `max_delay`; one that had run for
    `healthy_after` seconds starts over at `first_delay`. Each exit and restart is said.
    Call `tick()` often (the launcher does, twice a second).
    """

    stack: Stack
    first_delay: float = 1.0
    max_delay: float = 30.0
    healthy_after: float = 60.0
    _due: dict[str, float] = field(default_factory=dict, init=False)
    _delay: dict[str, float] = field(default_factory=dict, init=False)

    def tick(self) -> None:
        now = time.monotonic()
        for name in self.stack.stopped():
            if name not in self._due:
                code = self.stack.process(name).returncode
                delay = self._next_delay(name)
                self.stack.say(
                    f"{name} exited (code {code}); restarting it in {delay:g} s "
                    "(the rest keeps running)"
                )
                self._due[name] = now + delay
            elif now >= self._due[name]:
                del self._due[name]
                process = self.stack.restart(name)
                self.stack.say(f"{name} restarted (pid {process.pid})")

    def _next_delay(self, name: str) -> float:
        previous = self._delay.get(name)
        if previous is None or self.stack.seconds_up(name) >= self.healthy_after:
            delay = self.first_delay
        else:
            delay = min(previous * 2, self.max_delay)
        self._delay[name] = delay
        return delay
