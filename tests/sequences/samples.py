"""A sequence as marketing writes it, for tests that need its YAML text and its line numbers."""

from __future__ import annotations

# Line 8 is the reminder's `at`, line 11 the call's, line 12 its task.
TRUNK_SHOW = """\
key: trunk_show
name: Trunk show invitations
description: Invite bridal leads to the spring trunk show.
steps:
  - id: save_the_date
    send: {channel: email, template: engagement/welcome}
  - id: reminder
    at: {days: 2}
    send: {channel: preferred, template: engagement/four_cs}
  - id: call
    at: {days: 3}
    task: {role: associate, reason: Invite them in person, sla: {hours: 24}}
"""


def trunk_show(key: str = "trunk_show") -> str:
    """The trunk show sequence under its own `key`."""
    return TRUNK_SHOW.replace("key: trunk_show", f"key: {key}", 1)
