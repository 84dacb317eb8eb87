"""A real browser on the running platform: headless Chromium (Debian's, driven by Playwright) finds in the Prefect UI
every deployment of the catalog with its schedules and a completed run of each flow, and in the API's /docs every
route. Screenshots go to var/test-artifacts/browser/."""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from core.settings import settings
from deployments.catalog import DEPLOYMENT_NAME, DEPLOYMENTS
from tests.conftest import PREFECT_PORT, ROOT, TMP
from tests.utils.builders import PLANNER, approve_document, make_document

pytestmark = [pytest.mark.usefixtures("runner"), pytest.mark.timeout(600)]  # patient on a busy machine

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "var" / "test-artifacts" / "browser"
UI = f"http://127.0.0.1:{PREFECT_PORT}"
WAIT_MS = 30_000  # a page of the SPA on a busy 2-core machine
RUNS_SECONDS = 420  # ~1 min on a quiet machine
# How Prefect's UI words the catalog's schedules in a card's tooltip (cron by cronstrue, with the time zone).
SCHEDULE_WORDS: dict[str | int, str] = {
    "0 3 * * *": "At 03:00 AM every day",
    "0 5 * * *": "At 05:00 AM every day",
    "0 4 * * 1": "At 04:00 AM, only on Monday",
    60: "Every minute",
}

Parameters = dict[str, Any]


def _first_wave(url: str, pncp) -> dict[str, Parameters]:
    """A quick run of each flow that needs nothing but the test database and the loopback fakes."""
    from flows.consolidate_document import consolidate_document

    drafted, generated, approved = make_document(url, "ETP"), make_document(url, "TR"), make_document(url, "ETP")
    approve_document(url, approved)
    published = make_document(url, "TR")  # consolidated here, published by its quick run
    approve_document(url, published)
    consolidate_document(published)
    sequencial = int(uuid.uuid4().int % 9_000_000) + 1
    pncp.add_compra(CNPJ, 2026, sequencial)
    return {
        "generate-field": {"document_id": str(drafted), "slug": "descricao_necessidade", "requested_by": PLANNER},
        "generate-document": {"document_id": str(generated), "requested_by": PLANNER},
        "consolidate-document": {"document_id": str(approved), "requested_by": PLANNER},
        "deliver-notifications": {"max_seconds": 5},
        # 16 months of the embedded sample: ~480 priced items, enough to train on and quick to collect
        "collect-pncp": {"start": "2021-09-01", "end": "2022-12-31", "modalidades": [6], "source": "amostra"},
        "publish-pncp": {
            "document_id": str(published),
            "cnpj": CNPJ,
            "ano": 2026,
            "sequencial": sequencial,
            "requested_by": PLANNER,
        },
    }


CNPJ = "00394445000101"


def first_signer(document_id: str) -> str:
    """The first person the consolidated document names (who signs first)."""
    from models.crud.documents import document_view, responsibles
    from models.db import session_scope
    from models.signing_rules import signing_order

    with session_scope() as session:
        return signing_order(responsibles(session, document_view(session, uuid.UUID(document_id))))[0].identifier


# Runs that need another flow's completed run: (that flow, the parameters made from its run).
THEN: dict[str, tuple[str, Callable[[Any], Parameters]]] = {
    "train-price-model": ("collect-pncp", lambda _: {"test_months": 6, "seed": 1, "promote": False}),  # no champion
    # the files of a few contratações the quick collection stored (the replay lists and serves them)
    "collect-pncp-documents": ("collect-pncp", lambda _: {"start": "2021-09-01", "end": "2022-12-31", "limit": 3}),
    "report-run-failure": ("deliver-notifications", lambda run: {"flow_run_id": str(run.id)}),  # completed: no event
    "sign-document": (  # the first signature of the document the quick consolidation consolidated
        "consolidate-document",
        lambda run: {
            "document_id": run.parameters["document_id"],
            "person": first_signer(run.parameters["document_id"]),
            "backend": "pkcs12",
        },
    ),
}


class QuickRuns:
    """One quick run of every deployment, named `browser-<token>-<flow>`, started and followed in a thread that
    starts the dependent runs as their inputs complete."""

    def __init__(self, url: str, pncp):
        self.token = uuid.uuid4().hex[:8]
        self.wanted = {spec.flow_name for spec in DEPLOYMENTS}
        self.first = {flow: parameters for flow, parameters in _first_wave(url, pncp).items() if flow in self.wanted}
        missing = self.wanted - set(self.first) - set(THEN)
        assert not missing, f"no quick run for deployment(s) {sorted(missing)}: add one to tests/e2e/test_browser.py"
        self.runs: dict[str, Any] = {}
        self.done: dict[str, Any] = {}
        self.error: Exception | None = None
        self.follower = threading.Thread(target=self._follow, name="quick-runs", daemon=True)
        self.follower.start()

    @property
    def trace_id(self) -> str:
        return f"browser-{self.token}"

    def name(self, flow: str) -> str:
        return f"{self.trace_id}-{flow}"

    def _follow(self) -> None:
        try:
            asyncio.run(self._start_and_follow())
        except Exception as exc:  # noqa: BLE001 - raised in the test by wait_completed
            self.error = exc

    async def _start_and_follow(self) -> None:
        """As the API does (deployments.api.prefect_glue): a 503 from the busy SQLite server is repeated at once."""
        from prefect.client.orchestration import get_client
        from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

        from deployments.api.prefect_glue import retry_busy

        deadline = time.monotonic() + RUNS_SECONDS
        async with get_client() as client:
            for flow, parameters in self.first.items():
                await self._start(client, flow, parameters)
            while len(self.done) < len(self.wanted):
                flows = {run.id: flow for flow, run in self.runs.items() if flow not in self.done}
                ids = FlowRunFilter(id=FlowRunFilterId(any_=list(flows)))
                for run in await retry_busy(lambda ids=ids: client.read_flow_runs(flow_run_filter=ids)):
                    await self._check(client, flows[run.id], run)
                pending = sorted(self.wanted - set(self.done))
                assert time.monotonic() < deadline, f"runs not completed after {RUNS_SECONDS} s: {pending}"
                await asyncio.sleep(0.5)

    async def _start(self, client, flow: str, parameters: Parameters) -> None:
        from deployments.api.prefect_glue import start_run

        self.runs[flow] = await start_run(
            client,
            f"{flow}/{DEPLOYMENT_NAME}",
            parameters,
            trace_id=self.trace_id,
            tags=["browser-test"],
            name=self.name(flow),
        )

    async def _check(self, client, flow: str, run) -> None:
        if not (run.state and run.state.is_final()):
            return
        assert run.state.is_completed(), (
            f"{flow} run {run.name} ended {run.state.name}: {run.state.message} (runner log: {TMP / 'runner.log'})"
        )
        self.done[flow] = run
        for then, (needs, parameters) in THEN.items():
            if needs == flow and then in self.wanted:
                await self._start(client, then, parameters(run))

    def wait_completed(self) -> dict[str, Any]:
        """Every run COMPLETED, by flow name."""
        self.follower.join(RUNS_SECONDS + 30)
        if self.error:
            raise self.error
        assert not self.follower.is_alive(), "the runs' follower did not finish"
        for flow, run in sorted(self.done.items(), key=lambda item: item[1].created):
            print(
                f"{flow}: created {run.created:%H:%M:%S}, started {run.start_time:%H:%M:%S}, "
                f"ended {run.end_time:%H:%M:%S} ({run.total_run_time.total_seconds():.1f} s running)"
            )
        return self.done


@pytest.fixture(scope="module")
def quick_runs(sqlite_url, llm_server, signing_pki, pncp_integration_server, pncp_server) -> QuickRuns:
    llm_server.reset()  # pncp_server: the consulta replay the quick collect-pncp-documents lists files from
    return QuickRuns(sqlite_url, pncp_integration_server)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import expect, sync_playwright

    assert CHROMIUM.exists(), f"{CHROMIUM} missing: `make test` installs Debian's chromium package"
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    print(f"\nscreenshots: {ARTIFACTS}")
    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    yield page
    context.close()


@contextlib.contextmanager
def screenshot_on_failure(page, name: str) -> Iterator[None]:
    try:
        yield
    except BaseException:
        page.screenshot(path=ARTIFACTS / f"FAILED-{name}.png", full_page=True)
        raise


def shot(page, name: str) -> None:
    page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)


def expected_schedules(spec) -> list[tuple[str, str | re.Pattern]]:
    """(the card's label: the schedule's slug, the card's tooltip: what it means) for each schedule."""

    def words(schedule: str | int) -> str:
        assert schedule in SCHEDULE_WORDS, f"{spec.flow_name}: add the UI's words for {schedule!r} to SCHEDULE_WORDS"
        return SCHEDULE_WORDS[schedule]

    schedules: list[tuple[str, str | re.Pattern]] = []
    if spec.cron:
        schedules.append((spec.schedule_slug("cron"), f"{words(spec.cron)} (America/Sao_Paulo)"))
    if spec.interval_seconds:
        every = words(spec.interval_seconds)
        schedules.append((spec.schedule_slug("intervalo"), re.compile(rf"^{every} using .+ as the anchor date$")))
    return schedules


@pytest.mark.usefixtures("quick_runs")  # started first: the flows run while the browser reads the deployments
def test_ui_lists_every_deployment_with_its_schedules(page):
    from playwright.sync_api import expect

    for spec in DEPLOYMENTS:
        with screenshot_on_failure(page, f"deployment-{spec.flow_name}"):
            page.goto(f"{UI}/deployments?deployments.flowOrDeploymentNameLike={spec.flow_name}")
            row = (
                page.get_by_role("row")
                .filter(has=page.get_by_role("link", name=spec.flow_name, exact=True))
                .filter(has=page.get_by_role("link", name=DEPLOYMENT_NAME, exact=True))
            )
            expect(row).to_have_count(1)
            row.get_by_role("link", name=DEPLOYMENT_NAME, exact=True).click()
            expect(page).to_have_url(re.compile(r"/deployments/deployment/[0-9a-f-]{36}"))
            expect(page.get_by_text(spec.entrypoint, exact=True)).to_be_visible()  # the details are rendered
            expect(page.get_by_role("link", name=spec.flow_name, exact=True).first).to_be_visible()
            cards = page.locator(".deployment-schedule-card")
            schedules = expected_schedules(spec)
            expect(cards).to_have_count(len(schedules))
            for slug, meaning in schedules:
                card = cards.filter(has=page.get_by_text(slug, exact=True))
                expect(card).to_have_count(1)
                switch = card.get_by_role("switch")
                if settings.schedule_paused(spec.flow_name):  # SCHEDULES_PAUSED: registered inactive by the runner
                    expect(switch).not_to_be_checked()
                else:
                    expect(switch).to_be_checked()
                card.locator(".deployment-schedule-card__content").hover()
                expect(page.get_by_role("tooltip")).to_have_text(meaning)
            shot(page, f"deployment-{spec.flow_name}")
    page.goto(f"{UI}/deployments")
    expect(page.get_by_role("row").filter(has_text=DEPLOYMENTS[0].flow_name).first).to_be_visible()
    shot(page, "deployments")


def test_ui_shows_a_completed_run_of_each_flow(page, quick_runs):
    from playwright.sync_api import expect

    runs = quick_runs.wait_completed()
    page.set_viewport_size({"width": 1400, "height": 800 + 110 * len(runs)})  # the list renders what is in view
    with screenshot_on_failure(page, "runs"):
        page.goto(f"{UI}/runs?flow-run-search={quick_runs.trace_id}")
        items = page.locator(".flow-run-list-item")
        expect(items).to_have_count(len(runs))
        for flow, run in runs.items():
            item = items.filter(has=page.get_by_role("link", name=run.name, exact=True))
            expect(item).to_have_count(1)
            item.scroll_into_view_if_needed()
            expect(item.get_by_role("link", name=flow, exact=True)).to_be_visible()
            expect(item.get_by_role("link", name=DEPLOYMENT_NAME, exact=True)).to_be_visible()
            expect(item.locator(".state-badge")).to_have_text("Completed")
        shot(page, "runs")


def our_routes() -> list[tuple[str, str]]:
    """(method, path) of every route of the routers in deployments/api/routes."""
    import pkgutil
    from importlib import import_module

    from fastapi.routing import APIRoute

    from deployments.api import routes

    return [
        (method, route.path_format)
        for module in pkgutil.iter_modules(routes.__path__)
        for route in import_module(f"{routes.__name__}.{module.name}").router.routes
        if isinstance(route, APIRoute) and route.include_in_schema
        for method in route.methods
    ]


def test_api_docs_list_every_route(page, api_url):
    from playwright.sync_api import expect

    from deployments.api.app import app

    external: list[str] = []

    def outside(route) -> None:  # the page must not need anything beyond the API (offline networks)
        external.append(route.request.url)
        route.abort()

    page.context.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"), outside)
    documented = sorted(
        (method.upper(), path) for path, operations in app.openapi()["paths"].items() for method in operations
    )
    with screenshot_on_failure(page, "api-docs"):
        page.goto(f"{api_url}/docs")
        expect(page.locator(".info .title")).to_contain_text(app.title)
        operations = page.locator(".opblock")
        expect(operations).to_have_count(len(documented))
        listed = sorted(
            map(
                tuple,
                operations.evaluate_all("""blocks => blocks.map(b => [
            b.querySelector('.opblock-summary-method').textContent,
            b.querySelector('.opblock-summary-path').getAttribute('data-path')])"""),
            )
        )
        assert listed == documented
        assert set(our_routes()) <= set(listed), sorted(set(our_routes()) - set(listed))
        shot(page, "api-docs")
    assert external == [], f"/docs asked outside loopback for: {external}"
