"""The sequence language: the library loads, and bad sequences and templates are refused
with a message naming the file, the step and the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from sequences.loader import SequenceError, load_library, load_sequence_file, parse_sequence
from sequences.model import Offset
from sequences.templates import SAMPLE_FIELDS, TemplateProblem, check_template, render
from sequences.vocabulary import Channel


def _welcome(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "key": "welcome_test",
        "name": "Welcome",
        "steps": [
            {"id": "hello", "at": {"minutes": 0}, "send": {"template": "engagement/welcome"}},
            {"id": "guide", "at": {"days": 2}, "send": {"template": "engagement/four_cs"}},
        ],
    }
    body.update(changes)
    return body


def test_library_loads_the_engagement_welcome_with_three_timed_steps():
    welcome = load_library()["engagement_welcome"]
    assert [(step.id, step.at) for step in welcome.steps] == [
        ("welcome", Offset(minutes=0)),
        ("four_cs", Offset(days=2)),
        ("viewing_invite", Offset(days=7)),
    ]


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        (
            [{"id": "a", "send": {"template": "engagement/welcome"}}] * 2,
            "step 'a': duplicate step id",
        ),
        (
            [
                {"id": "late", "at": {"days": 3}, "send": {"template": "engagement/welcome"}},
                {"id": "early", "at": {"days": 1}, "send": {"template": "engagement/welcome"}},
            ],
            "step 'early': field 'at' is earlier than step 'late'",
        ),
        (
            [{"id": "x", "send": {"template": "engagement/no_such"}}],
            "step 'x', field send.template: unknown template 'engagement/no_such'",
        ),
        (
            [{"id": "x", "send": {"template": "engagement/welcome", "channel": "fax"}}],
            "step 'x', field send.channel",
        ),
        ([{"id": "x"}], "step 'x': Value error, a step needs an action"),
        ([{"id": "x", "at": {"days": -1}, "send": {"template": "engagement/welcome"}}], "at.days"),
        (
            [
                {
                    "id": "x",
                    "at": {"festival": "diwali", "before": {"days": 7}, "after": {"days": 1}},
                    "send": {"template": "engagement/welcome"},
                }
            ],
            "step 'x', field at: Value error, give either 'before' or 'after', not both",
        ),
        (
            [
                {
                    "id": "x",
                    "at": {"of": "anniversary", "before": {"days": 7}, "after": {"days": 1}},
                    "send": {"template": "engagement/welcome"},
                }
            ],
            "step 'x', field at: Value error, give either 'before' or 'after', not both",
        ),
    ],
)
def test_bad_sequence_is_refused_naming_file_step_and_field(steps, message):
    with pytest.raises(SequenceError) as refused:
        parse_sequence(_welcome(steps=steps), "welcome_test.yaml")
    assert str(refused.value).startswith("welcome_test.yaml: ")
    assert message in str(refused.value)


def test_unknown_top_level_field_and_bad_yaml_are_refused(tmp_path: Path):
    with pytest.raises(SequenceError, match="field colour: Extra inputs"):
        parse_sequence(_welcome(colour="gold"), "x.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("key: [unclosed")
    with pytest.raises(SequenceError, match=r"broken\.yaml: not valid YAML"):
        load_sequence_file(broken)


def _template_dir(tmp_path: Path, name: str, body: dict[str, Any]) -> Path:
    (tmp_path / "t").mkdir(exist_ok=True)
    (tmp_path / "t" / f"{name}.yaml").write_text(yaml.safe_dump(body))
    return tmp_path


def test_template_using_an_unknown_merge_field_fails_at_publish_time(tmp_path: Path):
    templates = _template_dir(tmp_path, "typo", {"sms": "Hi {{ frist_name }}!"})
    with pytest.raises(TemplateProblem, match="frist_name"):
        check_template("t/typo", templates)
    body = _welcome(steps=[{"id": "x", "send": {"template": "t/typo"}}])
    with pytest.raises(SequenceError, match=r"step 'x', field send\.template.*frist_name"):
        parse_sequence(body, "typo.yaml", templates)


def test_templates_render_in_a_sandbox(tmp_path: Path):
    templates = _template_dir(
        tmp_path, "escape", {"sms": "{{ first_name.__class__.__mro__[1].__subclasses__() }}"}
    )
    with pytest.raises(TemplateProblem, match="unsafe"):
        check_template("t/escape", templates)


def test_email_bodies_escape_html_from_merge_fields_but_sms_stays_plain():
    fields = SAMPLE_FIELDS.model_copy(update={"first_name": "<b>Asha</b>"})
    email = render("engagement/welcome", Channel.EMAIL, fields)
    sms = render("engagement/welcome", Channel.SMS, fields)
    assert "&lt;b&gt;Asha&lt;/b&gt;" in email.body
    assert "<b>Asha</b>" in sms.body
    assert email.subject == "Thank you for thinking of Facet Demo Jewellers, <b>Asha</b>"


def test_a_template_without_the_channel_variant_says_so():
    with pytest.raises(TemplateProblem, match="has no whatsapp variant"):
        render("engagement/four_cs", Channel.WHATSAPP, SAMPLE_FIELDS)
