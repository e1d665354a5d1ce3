"""Valigara's action API: `?auth={key}&action={action}&data={json}`, answered with a body
`{"status": <code>, "data": …}` (integrations.md §1). The client keys on the body's code:

100 OK · 101 Non HTTPS call · 102 Authentication Failed · 103 Unauthorized Request ·
105 Rate limit exceeded · 200 Action Not Found · 201 Action Failed · 300 Data Not Specified ·
301 Data Decode Failed · 302 Partial Content in Data · 303 Invalid Data.

A 105 (the leaky bucket is full) is waited out and retried: for the `Retry-After` the answer
gives, else a doubling backoff, a few times; then it is raised as `RateLimited` with the wait,
for a caller that can wait longer (an activity's next retry). Every other code is a
`ValigaraRefused` naming the code and what to do; 101, 102, 103, 200 and 30x are permanent
(retrying sends the same refused request), 201 may pass.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx

MEANING = {
    100: "OK",
    101: "Non HTTPS call",
    102: "Authentication Failed",
    103: "Unauthorized Request",
    105: "Rate limit exceeded",
    200: "Action Not Found",
    201: "Action Failed",
    300: "Data Not Specified",
    301: "Data Decode Failed",
    302: "Partial Content in Data",
    303: "Invalid Data",
}
WHAT_TO_DO = {
    101: "use the https:// address of the API",
    102: "the access key was refused: set a current one (Valigara: My Account → API)",
    103: "the key may not call this action: ask Valigara to allow it",
    200: "Valigara does not know this action",
}
TRANSIENT = {105, 201}


class ValigaraRefused(Exception):
    """Valigara answered with a code other than 100."""

    def __init__(self, code: int, action: str, debug_uid: str | None = None) -> None:
        meaning = MEANING.get(code, "unknown code")
        advice = WHAT_TO_DO.get(code, "the request was refused as sent")
        super().__init__(f"Valigara {action}: {code} {meaning}; {advice}")
        self.code = code
        self.action = action
        self.debug_uid = debug_uid  # X-DEBUG-UID, for Valigara's support
        self.permanent = code not in TRANSIENT


class RateLimited(ValigaraRefused):
    """105 after the client's own waits: try again after `wait_seconds`."""

    def __init__(self, action: str, wait_seconds: float, debug_uid: str | None = None) -> None:
        super().__init__(105, action, debug_uid)
        self.wait_seconds = wait_seconds


class ValigaraClient:
    """One store's Valigara account. `base_url` ends in `/client/V1/`."""

    def __init__(
        self,
        base_url: str,
        access_key: str,
        *,
        http: httpx.Client | None = None,
        waits: int = 3,
        first_wait: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url
        self._key = access_key
        self._http = http or httpx.Client(timeout=30)
        self._waits = waits
        self._first_wait = first_wait
        self._sleep = sleep

    def call(self, action: str, data: Any = None, *, waits: int | None = None) -> Any:
        """The answer's `data` for status 100; waits out a 105 `waits` times (default: the
        client's); raises otherwise."""
        wait = self._first_wait
        waits = self._waits if waits is None else waits
        for attempt in range(waits + 1):
            form = {"auth": self._key, "action": action}
            if data is not None:
                form["data"] = json.dumps(data)
            response = self._http.post(self.base_url, data=form)
            debug_uid = response.headers.get("X-DEBUG-UID")
            try:
                body = response.json()
                code = int(body["status"])
            except (ValueError, KeyError, TypeError) as error:
                raise ValigaraRefused(0, action, debug_uid) from error
            if code == 100:
                return body.get("data")
            if code != 105:
                raise ValigaraRefused(code, action, debug_uid)
            advised = _retry_after(response)
            wait = advised if advised is not None else wait
            if attempt == waits:
                raise RateLimited(action, wait, debug_uid)
            self._sleep(wait)
            wait = wait * 2 if advised is None else wait
        raise AssertionError("unreachable")

    def close(self) -> None:
        self._http.close()


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
