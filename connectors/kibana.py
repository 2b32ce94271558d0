"""Load newsflow's Kibana saved objects (data views, saved search, dashboard) into Kibana."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

from newsflow.config import SearchSettings
from newsflow.redact import redact

SHIPPED_PREFIX = "newsflow-"
IMPORT_PATH = "/api/saved_objects/_import"


class KibanaError(RuntimeError):
    """Kibana could not be reached, refused the request, or rejected some objects."""


@dataclass(frozen=True)
class ImportResult:
    """What Kibana reported for one import."""

    imported: int
    object_ids: list[str]


def retarget(ndjson: str, index_prefix: str) -> str:
    """The saved objects with data view titles (index patterns) moved to `index_prefix`."""
    if index_prefix == SHIPPED_PREFIX:
        return ndjson
    lines = []
    for line in ndjson.splitlines():
        if not line.strip():
            continue
        saved = json.loads(line)
        if saved["type"] == "index-pattern":
            title = saved["attributes"]["title"]
            saved["attributes"]["title"] = index_prefix + title.removeprefix(SHIPPED_PREFIX)
        lines.append(json.dumps(saved, separators=(",", ":")))
    return "\n".join(lines) + "\n"


def _auth(settings: SearchSettings) -> tuple[dict[str, str], httpx.BasicAuth | None]:
    if settings.es_api_key is not None:
        return {"Authorization": f"ApiKey {settings.es_api_key.get_secret_value()}"}, None
    if settings.es_username and settings.es_password is not None:
        return {}, httpx.BasicAuth(settings.es_username, settings.es_password.get_secret_value())
    return {}, None


def _reason(response: httpx.Response) -> str:
    try:
        body: Any = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict):
        return str(body.get("message") or body.get("error") or body)[:300]
    return str(body)[:300]


def _object_errors(errors: list[dict[str, Any]]) -> str:
    return "; ".join(
        f"{e.get('type')}/{e.get('id')}: {e.get('error', {}).get('type', 'error')}"
        for e in errors[:10]
    )


def import_saved_objects(
    settings: SearchSettings, ndjson: str, *, timeout_s: float = 30.0
) -> ImportResult:
    """POST the objects to Kibana's import API with `overwrite=true`; raise `KibanaError`.

    Authenticates like the search store (API key, else basic auth; CA from `es_ca_cert`).
    """
    if not settings.kibana_url:
        raise KibanaError("NEWSFLOW_KIBANA_URL is not set")
    where = redact(settings.kibana_url)
    headers, auth = _auth(settings)
    headers["kbn-xsrf"] = "true"
    verify: str | bool = str(settings.es_ca_cert) if settings.es_ca_cert else True
    try:
        with httpx.Client(timeout=timeout_s, verify=verify, auth=auth) as client:
            response = client.post(
                settings.kibana_url.rstrip("/") + IMPORT_PATH,
                params={"overwrite": "true"},
                headers=headers,
                files={"file": ("newsflow.ndjson", ndjson.encode("utf-8"), "application/ndjson")},
            )
    except httpx.HTTPError as exc:
        raise KibanaError(f"cannot reach Kibana at {where}: {type(exc).__name__}") from None
    if response.status_code in (401, 403):
        raise KibanaError(
            f"Kibana at {where} refused the credentials (HTTP {response.status_code}); "
            "check NEWSFLOW_ES_API_KEY or NEWSFLOW_ES_USERNAME/NEWSFLOW_ES_PASSWORD"
        )
    if response.status_code != 200:
        raise KibanaError(
            f"Kibana at {where} answered HTTP {response.status_code}: {_reason(response)}"
        )
    body = response.json()
    if not body.get("success", False):
        raise KibanaError(
            f"Kibana at {where} rejected objects: {_object_errors(body.get('errors', []))}"
        )
    results = body.get("successResults", [])
    return ImportResult(int(body.get("successCount", 0)), [str(r.get("id")) for r in results])
