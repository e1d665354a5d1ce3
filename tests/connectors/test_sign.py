"""The commands a store's developer and an admin use: the signer and the secrets."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import select

from connectors import secrets as secrets_command
from connectors import sign
from connectors.signature import facet_signature
from db.models import IntegrationSecret
from tests.api.test_contract_events import envelope


async def test_the_signers_header_is_accepted_by_facet(http, database, store, tmp_path, capsys,
                                                       monkeypatch):  # fmt: skip
    monkeypatch.setenv("DATABASE_URL", database.url)
    monkeypatch.setenv("SECRET_KEY", "test-secret-that-is-not-a-placeholder")
    from core.settings import get_settings

    get_settings.cache_clear()
    source = f"jewelmate-{uuid.uuid4().hex[:6]}"
    try:
        code = secrets_command.main(["rotate", "--source", source, "--store", str(store.id)])
    finally:
        get_settings.cache_clear()
    said = capsys.readouterr().out
    assert code == 0 and "1 live secret(s)" in said
    secret = said.split("new secret (shown once): ")[1].strip()
    stored = database.read(
        lambda s: (
            s.scalars(select(IntegrationSecret).where(IntegrationSecret.source == source))
            .one()
            .secret_encrypted
        )
    )
    assert secret not in stored  # kept encrypted, never as given

    body = tmp_path / "visit.json"
    body.write_text(json.dumps(envelope(store, "visit.recorded", {
        "customer": {"external_customer_id": "C-1", "first_name": "Ira"}})))  # fmt: skip
    assert sign.main(["--secret", secret, "--body", str(body)]) == 0
    header = capsys.readouterr().out.strip()
    assert header.startswith("Facet-Signature: t=") and ",v1=" in header
    answer = await http.post(
        f"/v1/integrations/{source}/events",
        content=body.read_bytes(),
        headers={"Facet-Signature": header.split(": ", 1)[1]},
    )
    assert answer.status_code == 202, answer.text


def test_the_signer_says_when_it_cannot_read_the_body(tmp_path, capsys):
    assert sign.main(["--secret", "s", "--body", str(tmp_path / "missing.json")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_a_secret_that_begins_with_a_dash_signs_as_any_other(tmp_path, capsys):
    # One generated secret in 64 begins with "-"; argparse alone took it for an option.
    body = tmp_path / "sale.json"
    body.write_text("{}")
    assert sign.main(["--secret", "-Fr2P7tu", "--body", str(body), "--timestamp", "1"]) == 0
    said = capsys.readouterr().out.strip()
    assert said == f"Facet-Signature: {facet_signature('-Fr2P7tu', b'{}', 1)}"
