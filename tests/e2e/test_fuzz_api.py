"""Schemathesis against the app's own OpenAPI document: every operation, with a valid key and without one.

No generated input may produce a 5xx, and every answer must match what the schema documents (status code, content
type, headers, body). The API under fuzz is its own uvicorn process with its own SQLite database (the junk it
creates never reaches the other tests), the session's Prefect and MLflow servers, and `RUN_RATE_BURST=0`: every
check of a run-starting route runs up to the point where the flow run would be created, and then it answers 429
instead of starting collections and trainings on random input (the e2e tests start those runs for real).

`make test` tries FUZZ_EXAMPLES examples per operation (default 20); `make fuzz` is the longer run (500, at
random), documented in docs/operations.md.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance
from schemathesis.config import SchemathesisConfig

from models.apikey import generate_key
from tests.conftest import ROOT, TMP, _migrate_and_seed
from tests.utils.api_thread import api_process
from tests.utils.builders import PLANNER, actor

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "20"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=os.environ.get("FUZZ_SEED") is None,
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)
WITHOUT_KEY = settings(FUZZ, max_examples=max(3, EXAMPLES // 4))


@dataclass(frozen=True)
class FuzzApi:
    url: str
    key: str
    tried: Counter  # (with or without a key, operation, status code) → requests


def record(api: FuzzApi, mode: str, case, response) -> None:
    api.tried[(mode, f"{case.operation.method.upper()} {case.operation.path}", response.status_code)] += 1


@pytest.fixture(scope="module")
def fuzz_api(prefect_server, mlflow_server):
    folder = TMP / "fuzz"
    folder.mkdir(exist_ok=True)
    database = f"sqlite:///{folder / 'fuzz.db'}"
    _migrate_and_seed(database)
    from models.apikey import ApiKey, hash_key
    from models.db import session_scope

    with session_scope(database) as session:  # the key the schema's configuration sends (known at collection)
        session.add(
            ApiKey(
                name="fuzz",
                prefix=KEY_PREFIX,
                key_hash=hash_key(KEY),
                scopes=["admin", "read", "run", "sigiloso", "write"],
            )
        )
    with api_process(folder / "api.log", DATABASE_URL=database, DATA_DIR=str(folder / "data"), RUN_RATE_BURST="0") as (
        url,
        _,
    ):
        api = FuzzApi(url, KEY, Counter())
        yield api
    write_summary(api.tried)


def write_summary(tried: Counter) -> None:
    """What was tried, for the record: var/test-artifacts/fuzz.json."""
    codes: dict[str, Counter] = {"key": Counter(), "no-key": Counter()}
    for (mode, _, code), n in tried.items():
        codes[mode][str(code)] += n
    summary = {
        "examples_per_operation": EXAMPLES,
        "operations": len({op for _, op, _ in tried}),
        "requests": sum(tried.values()),
        "status_codes": {mode: dict(sorted(found.items())) for mode, found in codes.items()},
        "5xx": sum(n for found in codes.values() for code, n in found.items() if code.startswith("5")),
    }
    (ROOT / "var" / "test-artifacts").mkdir(parents=True, exist_ok=True)
    (ROOT / "var" / "test-artifacts" / "fuzz.json").write_text(json.dumps(summary, indent=1))


def _app_schema() -> dict:
    """The OpenAPI document the API serves at /openapi.json (built by the same code, here at collection)."""
    from deployments.api.app import app

    return app.openapi()


KEY, KEY_PREFIX = generate_key()
# The key goes in as configuration, not as a header added to each call: Schemathesis then never generates a
# "negative" Authorization that the call would silently replace with a valid one (a false "accepted" finding).
with_key = schemathesis.openapi.from_dict(
    _app_schema(),
    config=SchemathesisConfig.from_dict(
        {"headers": {"Authorization": f"Bearer {KEY}", "X-Request-ID": "fuzz-com-chave", **actor(PLANNER)}}
    ),
)
without_key = schemathesis.openapi.from_dict(_app_schema())
# Input the schema allows may still break a rule it cannot express (a UF that does not exist, a window that ends
# before it starts, "descrição or código CATMAT", a template's sections): those get a 422 with the reason, which
# Schemathesis' positive-data check would count as a failure. Every other check runs.
NOT_CHECKED = [positive_data_acceptance]


@with_key.parametrize()
@FUZZ
def test_no_input_with_a_valid_key_gets_a_5xx_or_an_undocumented_answer(case, fuzz_api):
    response = case.call_and_validate(base_url=fuzz_api.url, excluded_checks=NOT_CHECKED)
    record(fuzz_api, "key", case, response)


@without_key.parametrize()
@WITHOUT_KEY
def test_no_input_without_a_key_gets_past_authentication(case, fuzz_api):
    response = case.call_and_validate(
        base_url=fuzz_api.url, excluded_checks=NOT_CHECKED, headers={"X-Request-ID": "fuzz-sem-chave"}
    )
    record(fuzz_api, "no-key", case, response)
    if case.path != "/api/v1/health":  # refused before anything is read or done: no key, a malformed request or
        # a path that names no resource (an id that is not a UUID); never a 2xx, never a 403 that would confirm it
        assert response.status_code in (400, 401, 404, 405, 413, 422), response.text
