"""Routing: role, language, continuity, workload by conversion, capacity, tie-break."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import replace

import pytest

from qualification.routing import Candidate, RoutingRequest, route
from sequences.vocabulary import StaffRole

A, B, C, G, H, D, M = (uuid.UUID(int=i) for i in range(1, 8))
STAFF = {
    "asha (associate, en)": Candidate(A, StaffRole.ASSOCIATE, ("en",), open_tasks=2),
    "bala (associate, hi+en)": Candidate(B, StaffRole.ASSOCIATE, ("hi", "en"), open_tasks=5),
    "chitra (associate, ta)": Candidate(C, StaffRole.ASSOCIATE, ("ta",), open_tasks=0),
    "gopal (gemologist, en)": Candidate(G, StaffRole.GEMOLOGIST, ("en",), open_tasks=1),
    "hema (gemologist, hi)": Candidate(H, StaffRole.GEMOLOGIST, ("hi-IN",), open_tasks=3),
    "dev (designer)": Candidate(D, StaffRole.DESIGNER, ("en",)),
    "mani (manager)": Candidate(M, StaffRole.MANAGER, ("en", "hi")),
}
EVERYONE = list(STAFF.values())
# Asha has a task and converts 60%; Chitra is idle but converts 10%: Asha still gets it.
CONVERTERS = [
    replace(c, open_tasks=1, conversion_rate=0.6)
    if c.staff_id == A
    else replace(c, open_tasks=0, conversion_rate=0.1)
    if c.staff_id == C
    else c
    for c in EVERYONE
]


def _without(*ids: uuid.UUID) -> list[Candidate]:
    return [c for c in EVERYONE if c.staff_id not in ids]


def _with(staff_id: uuid.UUID, **changes) -> list[Candidate]:
    return [replace(c, **changes) if c.staff_id == staff_id else c for c in EVERYONE]


@pytest.mark.parametrize(
    ("case", "request_", "staff", "chosen", "reason_has"),
    [
        ("role: gemologist question goes to a gemologist",
         RoutingRequest(StaffRole.GEMOLOGIST), EVERYONE, G, "gemologist needed"),
        ("role: design goes to the designer",
         RoutingRequest(StaffRole.DESIGNER), EVERYONE, D, "designer needed"),
        ("language: a Hindi speaker among gemologists",
         RoutingRequest(StaffRole.GEMOLOGIST, language="hi"), EVERYONE, H, "speaks hi"),
        ("language: Tamil beats a lighter load",
         RoutingRequest(StaffRole.ASSOCIATE, language="ta"), _with(C, open_tasks=9), C,
         "speaks ta"),
        ("language: nobody speaks it, so it is ignored",
         RoutingRequest(StaffRole.ASSOCIATE, language="fr"), EVERYONE, C, "nobody free speaks fr"),
        ("continuity: the owner first, though busier",
         RoutingRequest(StaffRole.ASSOCIATE, owner_id=B), EVERYONE, B, "the lead's owner"),
        ("continuity: then whoever worked the lead last",
         RoutingRequest(StaffRole.ASSOCIATE, last_associate_id=A), EVERYONE, A,
         "worked this lead last"),
        ("continuity yields to language",
         RoutingRequest(StaffRole.ASSOCIATE, language="hi", owner_id=A), EVERYONE, B, "speaks hi"),
        ("continuity yields to capacity",
         RoutingRequest(StaffRole.ASSOCIATE, owner_id=B), _with(B, capacity=5), C, "lightest load"),
        ("workload: the lightest load",
         RoutingRequest(StaffRole.ASSOCIATE), EVERYONE, C, "0/20 open"),
        ("workload: a better converter takes more",
         RoutingRequest(StaffRole.ASSOCIATE), CONVERTERS, A, "converts 60%"),
        ("inactive staff get nothing",
         RoutingRequest(StaffRole.GEMOLOGIST), _with(G, active=False), H, "gemologist needed"),
        ("excluded (already breached) staff get nothing",
         RoutingRequest(StaffRole.GEMOLOGIST, exclude=frozenset({G})), EVERYONE, H, "gemologist"),
        ("nobody of the role free: the manager stands in",
         RoutingRequest(StaffRole.DESIGNER), _with(D, open_tasks=20), M, "a manager stands in"),
        ("nobody at all", RoutingRequest(StaffRole.DESIGNER), _without(D, M), None, "no designer"),
        ("tie-break by staff id",
         RoutingRequest(StaffRole.ASSOCIATE),
         [Candidate(B, StaffRole.ASSOCIATE), Candidate(A, StaffRole.ASSOCIATE)], A, "lightest"),
    ],
)  # fmt: skip
def test_routing(case, request_, staff, chosen, reason_has):
    choice = route(request_, staff)
    assert choice.staff_id == chosen, case
    assert reason_has in choice.reason, choice.reason


def test_share_of_tasks_is_proportional_to_conversion_and_capped_by_capacity():
    staff = {
        A: Candidate(A, StaffRole.ASSOCIATE, conversion_rate=0.4, capacity=100),
        B: Candidate(B, StaffRole.ASSOCIATE, conversion_rate=0.2, capacity=100),
        C: Candidate(C, StaffRole.ASSOCIATE, conversion_rate=0.4, capacity=5),
    }
    given: Counter[uuid.UUID] = Counter()
    for _ in range(60):
        choice = route(RoutingRequest(StaffRole.ASSOCIATE), list(staff.values()))
        assert choice.staff_id is not None
        given[choice.staff_id] += 1
        picked = staff[choice.staff_id]
        staff[choice.staff_id] = replace(picked, open_tasks=picked.open_tasks + 1)
    assert given[C] == 5  # never beyond capacity
    assert abs(given[A] - 2 * given[B]) <= 2  # twice the conversion, twice the tasks
    assert given[A] + given[B] == 55
