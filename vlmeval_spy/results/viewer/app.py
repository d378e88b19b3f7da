"""The viewer's web app (Starlette): the page, its static files and the JSON API behind it.

    GET /                         the page (static/index.html)
    GET /api/meta                 results, filter values, metric names
    GET /api/leaderboard          the rows and columns of `spy-bench leaderboard`, with intervals and notes
    GET /api/heatmap?metric=      results by attributes
    GET /api/scenarios?metric=    results by scenario ids
    GET /api/compare?a=&b=&metric=  two results per attribute, the difference and its interval
    GET /api/samples?...          one page of filtered samples (query.mask names the filters)
    GET /api/sample/{id}          one sample in full
    GET /api/image/{id}[?thumb=1] the sample's image (or a thumbnail)

Bad requests answer 400 with the problem; nothing here writes anything.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ...common.errors import SpyDataError
from ..bootstrap import RATIO_KEYS
from ..metrics import HEADLINE_KEYS
from ..report import SCENARIO_KEYS, SHORT_NAMES
from . import query
from .scopes import SCOPE_KEYS
from .store import Store

STATIC = Path(__file__).parent / "static"


class RevalidatedFiles(StaticFiles):
    """Static files a browser asks about again each time (cheaply, by ETag): never a page of one
    version with the script of another."""

    def file_response(self, *args, **kwargs) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "no-cache"
        return response


def meta(store: Store) -> dict:
    """What the page needs to build its menus."""
    frame = store.samples

    def values(column: str) -> list[str]:
        return sorted(str(v) for v in frame[column].cat.categories) if column in frame else []

    return {
        "runs": [
            {**query.run_head(run), "samples": run.verdicts is not None, "judge": run.entry.judge} for run in store.runs
        ],
        "models": sorted({run.model for run in store.runs}),
        "datasets": sorted({run.dataset for run in store.runs}),
        "attributes": query.attributes(store),
        "scenarios": sorted((s for s in values("scenario") if s), key=query.scenario_order),
        "judges": values("judge"),
        "metrics": {
            "headline": list(HEADLINE_KEYS),
            "scopes": list(SCOPE_KEYS),
            "scenario": list(SCENARIO_KEYS),
            "compare": list(RATIO_KEYS),
            "short": SHORT_NAMES,
        },
        "samples": len(frame),
    }


def create_app(store: Store) -> Starlette:
    def answer(build):
        async def endpoint(request: Request) -> Response:
            try:
                return JSONResponse(build(request))
            except SpyDataError as err:
                return JSONResponse({"error": str(err)}, status_code=400)

        return endpoint

    def params(request: Request) -> dict[str, str]:
        return dict(request.query_params)

    def sample_id(request: Request) -> int:
        try:
            return int(request.path_params["id"])
        except ValueError:
            raise query.bad("id", "not an integer") from None

    async def image(request: Request) -> Response:
        try:
            detail = query.sample_detail(store, sample_id(request))
        except SpyDataError as err:
            return JSONResponse({"error": str(err)}, status_code=400)
        if not detail["image_path"]:
            return JSONResponse({"error": detail["prompt_problem"]}, status_code=404)
        try:
            if request.query_params.get("thumb"):
                thumbnail = store.images.thumbnail(detail["dataset"], detail["image_path"])
                return Response(thumbnail, media_type="image/jpeg")
            data = store.images.dataset(detail["dataset"]).image(detail["image_path"])
        except (OSError, KeyError, ValueError) as err:
            return JSONResponse({"error": f"image {detail['image_path']} cannot be read: {err}"}, status_code=404)
        kind = mimetypes.guess_type(detail["image_path"])[0] or "application/octet-stream"
        return Response(data, media_type=kind)

    async def index(request: Request) -> Response:
        page = (STATIC / "index.html").read_bytes()
        return Response(page, media_type="text/html", headers={"Cache-Control": "no-cache"})

    routes = [
        Route("/", index),
        Route("/api/meta", answer(lambda r: meta(store))),
        Route("/api/leaderboard", answer(lambda r: query.leaderboard(store))),
        Route("/api/heatmap", answer(lambda r: query.heatmap(store, r.query_params.get("metric", "accuracy")))),
        Route(
            "/api/scenarios",
            answer(lambda r: query.scenarios(store, r.query_params.get("metric", SCENARIO_KEYS[0]))),
        ),
        Route("/api/compare", answer(lambda r: _compare(store, params(r)))),
        Route("/api/samples", answer(lambda r: query.sample_page(store, params(r)))),
        Route("/api/sample/{id}", answer(lambda r: query.sample_detail(store, sample_id(r)))),
        Route("/api/image/{id}", image),
        Mount("/static", RevalidatedFiles(directory=STATIC), name="static"),
    ]
    # Only requests addressed to this machine by name: a web page elsewhere cannot reach the results
    # through a host name it points at 127.0.0.1 (DNS rebinding).
    local = [Middleware(TrustedHostMiddleware, allowed_hosts=["127.0.0.1", "localhost"])]
    return Starlette(routes=routes, middleware=local)


def _compare(store: Store, params: dict[str, str]) -> dict:
    try:
        a, b = int(params.get("a", "")), int(params.get("b", ""))
    except ValueError:
        raise query.bad("a/b", "two result ids") from None
    if not all(0 <= r < len(store.runs) for r in (a, b)):
        raise query.bad("a/b", "no such result")
    return query.compare(store, a, b, params.get("metric", "accuracy"))
