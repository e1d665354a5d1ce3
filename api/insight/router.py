"""Questions in plain words and the metric registry's exports (CSV)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from api.auth import require_roles
from api.deps import BackendDep
from api.insight import service
from api.insight.schemas import AnswerOut, MetricOut, QuestionIn
from core.vocabulary import ApiRole
from domain.access import Actor

router = APIRouter(tags=["insight"])

Reader = Annotated[Actor, Depends(require_roles(ApiRole.MARKETING, ApiRole.ASSOCIATE))]
OTHER_BRANCH: dict[int | str, dict[str, Any]] = {
    403: {"description": "The key is limited to another branch"}
}


@router.post("/v1/questions", responses=OTHER_BRANCH)
async def question(body: QuestionIn, actor: Reader, backend: BackendDep) -> AnswerOut:
    """Answer a question in plain words about the key's branch (never a guess: it asks back)."""
    return await service.question(body, actor, backend)


@router.get("/v1/metrics")
async def metrics(actor: Reader) -> list[MetricOut]:
    """Every metric Facet can show: its definition, dimensions and filters."""
    return service.catalogue()


@router.get(
    "/v1/metrics/{name}.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}, 404: {"description": "No such metric"},
               **OTHER_BRANCH},
)  # fmt: skip
async def metric_csv(
    name: str,
    actor: Reader,
    backend: BackendDep,
    store_id: uuid.UUID | None = None,
    period: Annotated[str | None, Query(max_length=100)] = None,
    start: date | None = None,
    end: date | None = None,
    by: Annotated[list[str], Query(max_length=40)] = [],  # noqa: B006 (FastAPI copies it)
    leads: bool = False,
) -> Response:
    """A metric's rows as CSV (`leads=true`: the leads behind the number), formula-safe."""
    text = await service.metric_csv(
        name, actor, backend, store_id=store_id, period=period, start=start, end=end, by=by,
        leads=leads,
    )  # fmt: skip
    return Response(
        "\ufeff" + text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )
