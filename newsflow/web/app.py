"""The story web UI and its JSON API, as an app factory over any `SearchStore`.

HTML pages: `/` (river of stories), `/stories/{id}` (one story's timeline), `/search`.
JSON: `/api/stories`, `/api/stories/{id}`, `/api/search`, `/api/latest`, `/api/health`,
in the record shapes of `newsflow stories --json` / `newsflow search --json`.
Route functions are plain `def`s: the stores are synchronous, so Starlette runs them in its
thread pool.
"""

from __future__ import annotations

from typing import Annotated, Any

import jinja2
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from newsflow.records import facets_record, result_record, story_record
from newsflow.store import SearchStore
from newsflow.web import views
from schemas import Article, Story

PAGE_SIZE = 20
SEARCH_LIMIT = 10
# Elasticsearch and OpenSearch refuse to page past 10,000 hits (`index.max_result_window`).
MAX_PAGED = 10_000
# Only this app's own files: no inline script, nothing from elsewhere. A string that slipped
# past escaping still could not run a script.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("newsflow.web", "templates"),
        autoescape=True,  # every string printed is escaped unless it is Markup
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(
        when=views.when, highlight=views.highlight, link=views.link_target, lead=views.article_lead
    )
    env.globals.update(query_string=views.query_string, day_range=views.day_range)
    return env


def _filters(
    source: Annotated[str, Query(max_length=200)] = "",
    language: Annotated[str, Query(max_length=20)] = "",
    since: Annotated[str, Query(max_length=40)] = "",
    until: Annotated[str, Query(max_length=40)] = "",
) -> views.Filters:
    for value in (since, until):
        try:
            views.parse_time(value)
        except ValueError as exc:
            raise HTTPException(400, f"bad date: {exc}") from exc
    return views.Filters(source.strip(), language.strip(), since.strip(), until.strip())


FiltersDep = Annotated[views.Filters, Depends(_filters)]
PageParam = Annotated[int, Query(ge=1, le=10_000)]
OrderParam = Annotated[str, Query(pattern="^(latest|biggest)$")]


def create_app(store: SearchStore) -> FastAPI:
    """The web app serving `store` (which the caller opens and closes)."""
    app = FastAPI(title="newsflow", docs_url=None, redoc_url=None, openapi_url="/api/openapi.json")
    templates = Jinja2Templates(env=_environment())
    app.mount("/static", StaticFiles(packages=[("newsflow.web", "static")]), name="static")

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        return response

    def error_page(request: Request, status: int, detail: Any) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": detail}, status_code=status)
        context = {"status": status, "detail": detail}
        return templates.TemplateResponse(request, "error.html", context, status_code=status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return error_page(request, exc.status_code, exc.detail)

    @app.exception_handler(RequestValidationError)
    async def bad_parameter(request: Request, exc: RequestValidationError) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": jsonable_encoder(exc.errors())}, status_code=422)
        wrong = "; ".join(f"{e['loc'][-1]}: {e['msg']}" for e in exc.errors())
        return error_page(request, 422, f"bad parameter ({wrong})")

    def river_page(
        filters: views.Filters, order: str, page: int, per_page: int
    ) -> tuple[list[tuple[Story, list[Article]]], bool]:
        if page * per_page >= MAX_PAGED:
            raise HTTPException(400, f"paging stops at {MAX_PAGED} stories: narrow the dates")
        stories = store.stories(
            since=filters.since_time,
            until=filters.until_time,
            order=order,
            limit=per_page + 1,
            offset=(page - 1) * per_page,
            source=filters.source or None,
            language=filters.language or None,
        )
        shown = stories[:per_page]
        return [(s, store.story_articles(s.id)) for s in shown], len(stories) > per_page

    def story_or_404(story_id: str) -> Story:
        story = store.get_story(story_id)
        if story is None:
            raise HTTPException(404, "no such story")
        return story

    # --- HTML ---------------------------------------------------------------------------

    @app.get("/", response_class=HTMLResponse)
    def river(
        request: Request, filters: FiltersDep, order: OrderParam = "latest", page: PageParam = 1
    ) -> Response:
        rows, more = river_page(filters, order, page, PAGE_SIZE)
        latest = store.stories(limit=1)
        context = {
            "rows": [(s, views.lead_of(m)) for s, m in rows],
            "filters": filters,
            "order": order,
            "page": page,
            "more": more,
            "live": page == 1 and order == "latest" and not filters.params(),
            "latest": latest[0].last_seen.isoformat() if latest else "",
        }
        return templates.TemplateResponse(request, "river.html", context)

    @app.get("/stories/{story_id}", response_class=HTMLResponse)
    def story_page(request: Request, story_id: str) -> Response:
        story = story_or_404(story_id)
        if story.merged_into:
            return RedirectResponse(f"/stories/{story.merged_into}", status_code=307)
        members = store.story_articles(story.id)
        originals = store.get_articles(views.missing_originals(members))
        merged = [m for m in (store.get_story(i) for i in story.merged_from) if m is not None]
        context = {
            "story": story,
            "entries": views.timeline(members, originals),
            "merged": merged,
        }
        return templates.TemplateResponse(request, "story.html", context)

    @app.get("/search", response_class=HTMLResponse)
    def search_page(
        request: Request,
        filters: FiltersDep,
        q: Annotated[str, Query(max_length=500)] = "",
    ) -> Response:
        query = filters.search_query(q, SEARCH_LIMIT)
        results = store.search(query) if q.strip() else []
        facets = store.search_facets(query) if results else None
        context = {"q": q, "filters": filters, "results": results, "facets": facets}
        return templates.TemplateResponse(request, "search.html", context)

    # --- JSON ---------------------------------------------------------------------------

    @app.get("/api/stories")
    def api_stories(
        filters: FiltersDep,
        order: OrderParam = "latest",
        page: PageParam = 1,
        limit: Annotated[int, Query(ge=1, le=100)] = PAGE_SIZE,
    ) -> dict[str, Any]:
        """Stories, latest or biggest first, each with its articles (`stories --json` lines)."""
        rows, more = river_page(filters, order, page, limit)
        return {
            "stories": [story_record(s, m) for s, m in rows],
            "page": page,
            "next_page": page + 1 if more else None,
        }

    @app.get("/api/stories/{story_id}")
    def api_story(story_id: str) -> dict[str, Any]:
        """One story with its articles, oldest first (merged-away stories have none)."""
        story = story_or_404(story_id)
        return story_record(story, store.story_articles(story.id))

    @app.get("/api/search")
    def api_search(
        filters: FiltersDep,
        q: Annotated[str, Query(min_length=1, max_length=500)],
        limit: Annotated[int, Query(ge=1, le=100)] = SEARCH_LIMIT,
    ) -> dict[str, Any]:
        """Matches grouped by story (`search --json` lines) and facet counts."""
        query = filters.search_query(q, limit)
        return {
            "query": q,
            "results": [result_record(r) for r in store.search(query)],
            "facets": facets_record(store.search_facets(query)),
        }

    @app.get("/api/latest")
    def api_latest() -> dict[str, Any]:
        """The story seen last: what the river page polls to know when to refresh."""
        latest = store.stories(limit=1)
        if not latest:
            return {"story_id": None, "last_seen": None}
        return {"story_id": latest[0].id, "last_seen": latest[0].last_seen.isoformat()}

    @app.get("/api/health")
    def api_health() -> dict[str, Any]:
        """Answers 200 while the store answers (the compose health check)."""
        return {"status": "ok", "articles": store.count_articles()}

    return app
