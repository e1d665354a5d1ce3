"""The embedded stack's processes — Temporal dev server, worker, API — started and stopped
the same way for `make run` (scripts/run.py) and `make bench` (bench/bench.py).

Each process gets its own session (a Ctrl-C reaches only the launcher, which stops the rest
in order) and, on Linux, dies with its launcher even when the launcher is killed. Stopping
sends SIGTERM newest first and waits (the worker lets in-flight sends finish), then kills
whatever is still there.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
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


class StackFailed(RuntimeError):
    """A process of the stack exited, or did not come up in time."""


@dataclass
class Stack:
    """The processes started so far, oldest first; `say` tells the user what happens."""

    say: Callable[[str], None] = print
    processes: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    def start(
        self,
        name: str,
        command: list[str],
        *,
        log: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.Popen[bytes]:
        """Start a process (its output to `log`, else the launcher's terminal)."""
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
        self.processes.append((name, process))
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
            try:
                stat = Path(f"/proc/{process.pid}/stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()  # after "(comm)": state is fields[0]
            used[name] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return used
