"""`make run`: the embedded stack — Temporal dev server, worker and API — in one terminal.

Data lives under .data/ (facet.db for Facet, temporal.db for Temporal), so stopping with
Ctrl-C and running again resumes the same leads and the same sleeping journeys.
Set TEMPORAL_ADDRESS to use a Temporal server you run yourself instead of the embedded one.
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
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.settings import DATA_DIR, get_settings  # noqa: E402
from core.temporal import EMBEDDED_SERVER_SQLITE  # noqa: E402
from db.migrate import migrate  # noqa: E402
from db.session import Database  # noqa: E402
from scripts.demo import seed_demo  # noqa: E402

# Ports and the folder for Temporal's file can be moved, e.g. to run a second copy beside
# the first (the test of this launcher does).
API_PORT = int(os.environ.get("FACET_API_PORT", "8000"))
TEMPORAL_PORT = int(os.environ.get("FACET_TEMPORAL_PORT", "7233"))
TEMPORAL_UI_PORT = int(os.environ.get("FACET_TEMPORAL_UI_PORT", "8233"))
STATE_DIR = Path(os.environ.get("FACET_DATA_DIR", str(DATA_DIR)))
STOP_TIMEOUT = 40  # the worker gives in-flight activities 30 s
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _wait_for_port(port: int, what: str, process: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{what} exited with code {process.returncode} while starting")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise SystemExit(f"{what} did not open port {port} within {seconds:.0f} s")


def _wait_for_health(process: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the API exited with code {process.returncode} while starting")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{API_PORT}/healthz", timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"the API did not become healthy within {seconds:.0f} s")


def _die_with_launcher() -> None:
    """In the child, before exec: ask Linux for SIGTERM when the launcher dies (even by
    SIGKILL), so no orphan keeps the ports and files of the next `make run`."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _start(command: list[str], log: Path | None = None) -> subprocess.Popen[bytes]:
    # Own process group: Ctrl-C reaches only this launcher, which stops the rest in order.
    output = log.open("ab") if log else None
    return subprocess.Popen(
        command,
        cwd=ROOT,
        start_new_session=True,
        stdout=output,
        stderr=output,
        preexec_fn=_die_with_launcher,  # safe here: the launcher runs no threads
    )


def _refuse_busy_ports(ports: dict[int, str]) -> None:
    """Stop before starting anything if a port is taken, naming it and how to move it."""
    for port, setting in ports.items():
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                raise SystemExit(
                    f"Facet: port {port} is already in use (another `make run`, or another "
                    f"program). Stop it, or choose another port with {setting}=<port>."
                )


def _stop(process: subprocess.Popen[bytes], name: str) -> None:
    if process.poll() is not None:
        return
    print(f"  stopping {name} …", flush=True)
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    # Explicit handlers: a launcher started in the background inherits SIGINT ignored.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    embedded = "TEMPORAL_ADDRESS" not in os.environ
    ports = {API_PORT: "FACET_API_PORT"}
    if embedded:
        ports |= {TEMPORAL_PORT: "FACET_TEMPORAL_PORT", TEMPORAL_UI_PORT: "FACET_TEMPORAL_UI_PORT"}
    _refuse_busy_ports(ports)  # before anything is migrated or started
    settings = get_settings()
    if "public_base_url" not in settings.model_fields_set:
        # Links in messages (unsubscribe) point at this API unless a public address is set.
        os.environ["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{API_PORT}"
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    print("Facet: migrating the database …", flush=True)
    migrate(settings.database_url)
    database = Database(settings.database_url)
    demo = seed_demo(database)
    database.dispose()

    processes: list[tuple[str, subprocess.Popen[bytes]]] = []
    try:
        if embedded:
            temporal = Path(sysconfig.get_path("scripts")) / "temporal"
            server = _start(
                [
                    str(temporal), "server", "start-dev",
                    "--db-filename", str(STATE_DIR / "temporal.db"),
                    "--ip", "127.0.0.1",
                    "--port", str(TEMPORAL_PORT),
                    "--ui-port", str(TEMPORAL_UI_PORT),
                    "--log-level", "warn",
                    *EMBEDDED_SERVER_SQLITE,
                ],
                log=STATE_DIR / "temporal.log",
            )  # fmt: skip
            processes.append(("Temporal dev server", server))
            _wait_for_port(TEMPORAL_PORT, "the Temporal dev server", server, 60)
            os.environ["TEMPORAL_ADDRESS"] = f"127.0.0.1:{TEMPORAL_PORT}"  # for the children
        worker = _start([sys.executable, "worker.py"])
        processes.append(("worker", worker))
        api = _start(
            [
                sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory",
                "--host", "127.0.0.1", "--port", str(API_PORT), "--log-level", "warning",
            ]
        )  # fmt: skip
        processes.append(("API", api))
        _wait_for_health(api, 60)
        _banner(demo.store_id, demo.admin_key, embedded)

        while all(process.poll() is None for _, process in processes):
            time.sleep(0.5)
        failed = [name for name, process in processes if process.poll() is not None]
        print(f"Facet: {', '.join(failed)} stopped unexpectedly; stopping the rest.", flush=True)
        return 1
    except KeyboardInterrupt:
        print("\nFacet: stopping …", flush=True)
        return 0
    finally:
        for name, process in reversed(processes):
            _stop(process, name)
        print("Facet: stopped. `make run` again resumes where you left off.", flush=True)


def _banner(store_id: object, admin_key: str | None, embedded: bool) -> None:
    base = f"http://127.0.0.1:{API_PORT}"
    key_line = (
        f"  Admin API key (shown once, keep it): {admin_key}"
        if admin_key
        else "  Admin API key: printed the first time; make another with\n"
        "      .venv/bin/python -m api.keys create --role admin --name me"
    )
    ui = f"http://127.0.0.1:{TEMPORAL_UI_PORT}" if embedded else "(your Temporal's own UI)"
    print(
        f"""
Facet is running.
  API:          {base}        (docs: {base}/docs)
  Temporal UI:  {ui}
  Demo store:   {store_id}
{key_line}

Try it:
  curl -s -X POST {base}/v1/leads -H "Authorization: Bearer $FACET_KEY" \\
    -H 'Content-Type: application/json' \\
    -d '{{"store_id": "{store_id}", "source": "web_form", "first_name": "Asha",
         "phone": "98450 12345", "email": "asha@example.com", "segment": "engagement",
         "consent": {{"email": true, "whatsapp": true, "evidence": "web form checkbox"}}}}'

Press Ctrl-C to stop.""",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
