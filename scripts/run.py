"""`make run`: the embedded stack — Temporal dev server, worker and API — in one terminal.

Data lives under .data/ (facet.db for Facet, temporal.db for Temporal; PostgreSQL mode has a
Temporal file of its own, see scripts/stack.temporal_db_file), so stopping with Ctrl-C and
running again resumes the same leads and the same sleeping journeys. A worker, API or
Temporal server that exits on its own is started again, with backoff, while the rest runs.
Set TEMPORAL_ADDRESS to use a Temporal server you run yourself instead of the embedded one.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.settings import DATA_DIR, get_settings  # noqa: E402
from db.migrate import migrate  # noqa: E402
from db.session import Database  # noqa: E402
from scripts.demo import ADMIN_EMAIL, DemoStore, seed_demo  # noqa: E402
from scripts.stack import (  # noqa: E402
    WORKER_COMMAND,
    Stack,
    StackFailed,
    Supervisor,
    api_command,
    port_taken,
    temporal_command,
    temporal_db_file,
)

# Ports and the folder for Temporal's file can be moved, e.g. to run a second copy beside
# the first (the test of this launcher does).
API_PORT = int(os.environ.get("FACET_API_PORT", "8000"))
TEMPORAL_PORT = int(os.environ.get("FACET_TEMPORAL_PORT", "7233"))
TEMPORAL_UI_PORT = int(os.environ.get("FACET_TEMPORAL_UI_PORT", "8233"))
STATE_DIR = Path(os.environ.get("FACET_DATA_DIR", str(DATA_DIR)))


def _refuse_busy_ports(ports: dict[int, str]) -> None:
    """Stop before starting anything if a port is taken, naming it and how to move it."""
    for port, setting in ports.items():
        if port_taken(port):
            raise SystemExit(
                f"Facet: port {port} is already in use (another `make run`, or another "
                f"program). Stop it, or choose another port with {setting}=<port>."
            )


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
    demo = seed_demo(database, settings.secret_key.get_secret_value())
    database.dispose()

    stack = Stack(say=lambda text: print(f"  {text}", flush=True))
    temporal_data = temporal_db_file(STATE_DIR, settings.database_url) if embedded else None
    try:
        if temporal_data is not None:
            stack.start(
                "Temporal dev server",
                temporal_command(
                    db_file=temporal_data,
                    port=TEMPORAL_PORT,
                    ui_port=TEMPORAL_UI_PORT,
                ),
                log=STATE_DIR / "temporal.log",
            )
            stack.wait_for_port(TEMPORAL_PORT, "the Temporal dev server", 60)
            os.environ["TEMPORAL_ADDRESS"] = f"127.0.0.1:{TEMPORAL_PORT}"  # for the children
        stack.start("worker", WORKER_COMMAND)
        stack.start("API", api_command(API_PORT))
        stack.wait_for_health(f"http://127.0.0.1:{API_PORT}", 60)
        _banner(demo, temporal_data)

        # From here on a process that exits is started again (the others keep running):
        # captures answered while the worker is away wait on the Temporal server's task
        # queue, and their journeys start when it is back.
        supervisor = Supervisor(stack)
        while True:
            supervisor.tick()
            time.sleep(0.5)
    except StackFailed as failure:
        print(f"Facet: {failure}; stopping the rest.", flush=True)
        return 1
    except KeyboardInterrupt:
        print("\nFacet: stopping …", flush=True)
        return 0
    finally:
        stack.stop()
        print("Facet: stopped. `make run` again resumes where you left off.", flush=True)


def _banner(demo: DemoStore, temporal_data: Path | None) -> None:
    base = f"http://127.0.0.1:{API_PORT}"
    store_id = demo.store_id
    key_line = (
        f"  Admin API key (shown once, keep it): {demo.admin_key}"
        if demo.admin_key
        else "  Admin API key: printed the first time; make another with\n"
        "      .venv/bin/python -m api.keys create --role admin --name me"
    )
    admin_line = (
        f"  First admin:  {base}/console/invite/{demo.admin_invite}\n"
        f"                (choose the password of {ADMIN_EMAIL}; the link works once, for 7 days)"
        if demo.admin_invite
        else f"  First admin:  {ADMIN_EMAIL} has a password; sign in at the console"
    )
    ui = (
        f"http://127.0.0.1:{TEMPORAL_UI_PORT}        (its data: {temporal_data})"
        if temporal_data is not None
        else "(your Temporal's own UI)"
    )
    print(
        f"""
Facet is running.
  Console:      {base}/console
{admin_line}
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
