"""The registered versions of the price model, read without importing MLflow (`nexora model list`).

Importing MLflow and opening its store takes 3.5–4.5 s here (the SQL store checks its schema on every open); a
listing needs a few rows. So the two stores this project uses are read directly:

- a tracking server (``http(s)://``): MLflow's REST API, ``model-versions/search`` and ``registered-models/get``;
- the embedded store (``sqlite:///…``): its registry tables (``model_versions``, ``model_version_tags``,
  ``registered_model_aliases``), opened read-only. These are MLflow's own tables, read at the version uv.lock pins;
  tests/integration/test_price_model.py compares this reading with ``Registry.versions()`` on both stores, so an
  upgrade that changes them fails there.

Any other store falls back to ``Registry.versions()``. The result is the same list of dicts in every case.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from tasks.prices.registry import MODEL_NAME, tracking_uri


def _figure(tags: dict[str, str], key: str) -> float | None:
    value = tags.get(key)
    return float(value) if value not in (None, "") else None


def _row(version: str, run_id: str | None, created: int | None, tags: dict[str, str], aliases: set[str]) -> dict:
    return {
        "version": str(version),
        "aliases": sorted(aliases),
        "run_id": run_id or None,
        "created": created,
        "mdape": _figure(tags, "mdape"),
        "baseline_mdape": _figure(tags, "baseline_mdape"),
    }


def _sorted(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda row: int(row["version"]), reverse=True)


def _from_sqlite(path: Path, name: str) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    with sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not {"model_versions", "model_version_tags", "registered_model_aliases"} <= tables:
            return []  # a store no model was ever registered in (or not yet created)
        tags: dict[str, dict[str, str]] = {}
        for version, key, value in db.execute(
            "SELECT version, key, value FROM model_version_tags WHERE name = ?", (name,)
        ):
            tags.setdefault(str(version), {})[key] = value
        aliases: dict[str, set[str]] = {}
        for version, alias in db.execute("SELECT version, alias FROM registered_model_aliases WHERE name = ?", (name,)):
            aliases.setdefault(str(version), set()).add(alias)
        rows = db.execute(
            "SELECT version, run_id, creation_time FROM model_versions WHERE name = ? "
            "AND current_stage != 'Deleted_Internal'",
            (name,),
        ).fetchall()
    return _sorted(
        [_row(str(v), run_id, created, tags.get(str(v), {}), aliases.get(str(v), set())) for v, run_id, created in rows]
    )


def _from_server(uri: str, name: str) -> list[dict[str, Any]]:
    import httpx

    from core.settings import settings

    base = uri.rstrip("/") + "/api/2.0/mlflow"
    with httpx.Client(timeout=settings.HTTP_CLIENT_TIMEOUT) as client:
        model = client.get(f"{base}/registered-models/get", params={"name": name})
        if model.status_code == 404 or (model.status_code == 400 and "RESOURCE_DOES_NOT_EXIST" in model.text):
            return []
        model.raise_for_status()
        aliases: dict[str, set[str]] = {}
        for entry in model.json().get("registered_model", {}).get("aliases", []):
            aliases.setdefault(str(entry["version"]), set()).add(entry["alias"])
        found, token = [], None
        while True:
            params = {"filter": f"name = '{name}'", "max_results": 1000, **({"page_token": token} if token else {})}
            page = client.get(f"{base}/model-versions/search", params=params)
            page.raise_for_status()
            body = page.json()
            found.extend(body.get("model_versions", []))
            token = body.get("next_page_token")
            if not token:
                break
    return _sorted(
        [
            _row(
                v["version"],
                v.get("run_id"),
                int(v["creation_timestamp"]) if v.get("creation_timestamp") else None,
                {t["key"]: t["value"] for t in v.get("tags", [])},
                set(v.get("aliases", [])) | aliases.get(str(v["version"]), set()),
            )
            for v in found
        ]
    )


def list_versions(uri: str | None = None, name: str = MODEL_NAME) -> list[dict[str, Any]]:
    """The registered versions of ``name``, newest first: version, aliases, run_id, created (ms), mdape and
    baseline_mdape (the figures tagged at registration)."""
    uri = uri or tracking_uri()
    scheme = urlparse(uri).scheme
    if scheme in ("http", "https"):
        return _from_server(uri, name)
    if scheme == "sqlite":
        return _from_sqlite(Path(unquote(uri[len("sqlite:///") :])), name)
    from tasks.prices.registry import Registry

    return Registry(uri, name).versions()
