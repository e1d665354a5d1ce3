"""Sign a delivery the way Facet's contract expects, for a store system's developer.

    python -m connectors.sign --secret "$SECRET" --body sale.json
        prints the header: Facet-Signature: t=1764772800,v1=5d41…
    python -m connectors.sign --secret "$SECRET" --body sale.json \\
        --send http://127.0.0.1:8000/v1/integrations/jewelmate-mg-road/events
        signs and posts it, and prints Facet's answer

The body is signed byte for byte as read from the file: send exactly those bytes.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import httpx

from connectors.signature import facet_signature


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m connectors.sign", description="Sign (and send) a Facet contract event."
    )
    parser.add_argument("--secret", required=True, help="the source's signing secret")
    parser.add_argument("--body", required=True, type=Path, help="the JSON file to send")
    parser.add_argument("--timestamp", type=int, help="unix seconds (default: now)")
    parser.add_argument("--send", metavar="URL", help="post the signed body to this URL")
    return parser


def _secret_joined(argv: list[str]) -> list[str]:
    """`--secret VALUE` as `--secret=VALUE`: a generated secret may begin with `-`, which
    argparse would otherwise take for an option and refuse."""
    joined: list[str] = []
    words = iter(argv)
    for word in words:
        if word == "--secret":
            value = next(words, None)
            joined.append(word if value is None else f"--secret={value}")
        else:
            joined.append(word)
    return joined


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(_secret_joined(sys.argv[1:] if argv is None else argv))
    try:
        body = args.body.read_bytes()
    except OSError as error:
        sys.stderr.write(f"cannot read {args.body}: {error.strerror}\n")
        return 2
    header = facet_signature(args.secret, body, args.timestamp or int(time.time()))
    if not args.send:
        sys.stdout.write(f"Facet-Signature: {header}\n")
        return 0
    answer = httpx.post(
        args.send,
        content=body,
        headers={"Content-Type": "application/json", "Facet-Signature": header},
        timeout=30,
    )
    sys.stdout.write(f"{answer.status_code} {answer.text}\n")
    return 0 if answer.is_success else 1


if __name__ == "__main__":
    sys.exit(main())
