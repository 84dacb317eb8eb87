"""Test session: one Prefect server, one loopback LLM, one SQLite and one PostgreSQL database.

The environment is set here, before any project or Prefect module is imported, so every layer
(settings, Prefect client, the runner subprocess) sees the same test configuration.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest

from tests.utils.ports import free_port

ROOT = Path(__file__).resolve().parents[1]
TMP = Path(tempfile.mkdtemp(prefix="nexora-tests-"))
PREFECT_PORT, LLM_PORT, PNCP_PORT, MLFLOW_PORT = free_port(), free_port(), free_port(), free_port()
PNCP_INTEGRATION_PORT = free_port()
PG_ADMIN_URL = os.environ.get("NEXORA_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
PG_DB = f"nexora_test_{os.getpid()}"

os.environ.update(
    {
        "ENVIRONMENT": "test",
        "DATA_DIR": str(TMP / "data"),
        "DATABASE_URL": f"sqlite:///{TMP / 'data' / 'test.db'}",
        "SECRET_KEY": "test-secret-key-not-a-placeholder",
        "OPENAI_API_KEY": "sk-test-loopback",
        "OPENAI_BASE_URL": f"http://127.0.0.1:{LLM_PORT}/v1",
        "OPENAI_MODEL": "fake-gpt",
        "HTTP_CLIENT_TIMEOUT": "2",
        "LLM_RETRIES": "3",
        "LLM_RETRY_DELAY_SECONDS": "0.05",
        "LLM_CONCURRENCY": "13",
        "PREFECT_HOME": str(TMP / "prefect"),
        "PREFECT_API_URL": f"http://127.0.0.1:{PREFECT_PORT}/api",
        "PREFECT_UI_API_URL": f"http://127.0.0.1:{PREFECT_PORT}/api",  # the browser test's UI calls this server
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOCAL_STORAGE_PATH": str(TMP / "prefect" / "storage"),
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",
        # the session's runner starts no scheduled run: not the nightly collection or the weekly training in the
        # middle of a test, nor a delivery run every minute (~20 runs of CPU for nothing: events start their own
        # delivery run); tests/integration/test_schedules.py deploys the schedules active on servers of its own
        "SCHEDULES_PAUSED": "*",
        "PREFECT_LOGGING_TO_API_BATCH_INTERVAL": "0.3",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing-secret",
        # notifications: loopback receivers are allow-listed; short back-off, time-out and lease for the tests
        "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
        # per-key limits generous for the session (each limit's own test narrows it: tests/e2e/test_api_limits.py)
        "RUN_RATE_PER_MINUTE": "60000",
        "RUN_RATE_BURST": "10000",
        "READ_RATE_PER_MINUTE": "600000",
        "READ_RATE_BURST": "100000",
        "WRITE_RATE_PER_MINUTE": "600000",
        "WRITE_RATE_BURST": "100000",
        "WAIT_MAX_PER_KEY": "200",
        "WAIT_MAX_TOTAL": "1000",
        "LLM_DAILY_CALLS_PER_KEY": "1000000",
        "NOTIFY_RETRY_BASE_SECONDS": "0.2",
        "NOTIFY_RETRY_MAX_SECONDS": "1",
        "NOTIFY_TIMEOUT_SECONDS": "2",
        "NOTIFY_LEASE_SECONDS": "4",
        "NOTIFY_MAX_ATTEMPTS": "4",
        # PNCP: the replay server on loopback, with short intervals and back-off
        "PNCP_BASE_URL": f"http://127.0.0.1:{PNCP_PORT}",
        "PNCP_CONSULTA_INTERVAL_SECONDS": "0.02",
        "PNCP_RETRY_BASE_SECONDS": "0.02",
        "PNCP_TIMEOUT_SECONDS": "1",
        "PNCP_PAGE_SIZE": "10",
        "PNCP_ITEMS_PAGE_SIZE": "2",
        "PNCP_RETRIES": "3",
        # PNCP publication: the loopback integration API (tests/servers/pncp_integration.py) and its credentials
        "PNCP_INTEGRATION_URL": f"http://127.0.0.1:{PNCP_INTEGRATION_PORT}/api/pncp",
        "PNCP_LOGIN": "plataforma-teste",
        "PNCP_PASSWORD": "pncp-senha-7c41e9b2d5",  # searched for by the secret scan
        "PNCP_PUBLISH_RETRIES": "3",
        "PNCP_PUBLISH_RETRY_SECONDS": "0.05",
        # price model: the MLflow tracking server of the session (production mode), a quick registry check in the API
        "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{MLFLOW_PORT}",
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
        "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
        "PRICE_MODEL_REFRESH_SECONDS": "1",
        "PRICE_MODEL_THREADS": "1",
        # signatures: the folder and CA the `signing_pki` fixture fills (tests/utils/pki.py; no key is committed)
        "SIGNING_PKCS12_FILE": str(TMP / "signing"),
        "SIGNING_PKCS12_PASSWORD": "senha-de-teste",
        "SIGNING_TRUST_ROOTS": str(TMP / "signing" / "ca.pem"),
    }
)
os.environ.pop("PREFECT_PROFILE", None)


_MLFLOW: dict[str, subprocess.Popen] = {}


def _start_mlflow() -> subprocess.Popen:
    """The MLflow tracking server (SQLite backend, proxied artifacts), started once; ~30 s to healthy here, so it
    starts as soon as the collected tests are known to need it."""
    if "process" not in _MLFLOW:
        folder = TMP / "mlflow"
        folder.mkdir(parents=True, exist_ok=True)
        _MLFLOW["log"] = open(folder / "server.log", "wb")  # noqa: SIM115
        _MLFLOW["process"] = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "mlflow"),
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                str(MLFLOW_PORT),
                "--workers",
                "1",
                "--backend-store-uri",
                f"sqlite:///{folder / 'mlflow.db'}",
                "--artifacts-destination",
                str(folder / "artifacts"),
            ],
            env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
            stdout=_MLFLOW["log"],
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return _MLFLOW["process"]


TIERS = ("unit", "integration", "e2e")  # the folders below tests/, each a marker: `make test-fast` runs `-m unit`
SERVERS = {
    "llm_server",
    "moto_url",
    "webhook_server",
    "receiver",
    "pncp_server",
    "pncp_integration_server",
    "pncp_publisher",
    "mlflow_server",
    "prefect_server",
    "pg_url",
    "db_url",
    "api_url",
}


def pytest_collection_modifyitems(config, items):
    """Mark each test with its folder's tier; a unit test may not ask for a server (the fast loop starts none). Two
    tests under one id are refused: pytest-xdist (make test) would run one of them (pytest 9.2 gave Schemathesis'
    120 fuzz tests two ids, and 118 of them silently did not run)."""
    twice = [nodeid for nodeid, n in Counter(item.nodeid for item in items).items() if n > 1]
    if twice:
        raise pytest.UsageError(f"{len(twice)} test ids name more than one test, e.g. {twice[0]}")
    for item in items:
        tier = next((t for t in TIERS if f"{os.sep}tests{os.sep}{t}{os.sep}" in str(item.path)), None)
        if tier is None:
            continue
        item.add_marker(getattr(pytest.mark, tier))
        if tier == "unit" and SERVERS & set(getattr(item, "fixturenames", ())):
            raise pytest.UsageError(
                f"{item.nodeid}: a unit test uses a server fixture "
                f"({', '.join(sorted(SERVERS & set(item.fixturenames)))}); move it to "
                "tests/integration"
            )


def pytest_collection_finish(session):
    if any("mlflow_server" in getattr(item, "fixturenames", ()) for item in session.items):
        _start_mlflow()


def pytest_sessionfinish(session, exitstatus):
    if "process" in _MLFLOW:
        stop(_MLFLOW["process"])
        _MLFLOW["log"].close()
    shutil.rmtree(TMP, ignore_errors=True)


def wait_http(url: str, timeout: float, process: subprocess.Popen | None = None) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} not healthy after {timeout} s")


def stop(process: subprocess.Popen) -> None:
    import signal

    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="session")
def llm_server():
    from tests.servers.llm import FakeLLM

    server = FakeLLM(port=LLM_PORT).start()
    yield server
    server.stop()


@pytest.fixture
def llm(llm_server):
    llm_server.reset()
    yield llm_server
    llm_server.reset()


@pytest.fixture(scope="session")
def moto_url():
    """moto_server on loopback: S3 (and later SES) through boto3 with endpoint_url."""
    port = free_port()
    log = open(TMP / "moto.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/moto-api/", 30, process)
        yield url
    finally:
        stop(process)
        log.close()


@pytest.fixture(scope="session")
def webhook_server():
    from tests.servers.webhook import WebhookReceiver

    server = WebhookReceiver(port=free_port()).start()
    yield server
    server.stop()


@pytest.fixture
def receiver(webhook_server):
    webhook_server.reset()
    yield webhook_server
    webhook_server.reset()


@pytest.fixture
def fake_dns(monkeypatch):
    """A test resolver in front of the system's, for this test (tests/utils/dns.py)."""
    from tests.utils.dns import install

    return install(monkeypatch)


@pytest.fixture(scope="session")
def pncp_server():
    """The PNCP replay server at PNCP_BASE_URL (what the runner subprocess collects from)."""
    from tests.servers.pncp import PncpReplay

    server = PncpReplay(port=PNCP_PORT).start_server()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pncp_integration_server():
    """PNCP's integration API on loopback at PNCP_INTEGRATION_URL (what publish-pncp runs attach files to)."""
    from tests.servers.pncp_integration import PncpIntegrationServer

    server = PncpIntegrationServer(
        port=PNCP_INTEGRATION_PORT, login=os.environ["PNCP_LOGIN"], senha=os.environ["PNCP_PASSWORD"]
    ).start_server()
    yield server
    server.stop()


@pytest.fixture
def pncp_publisher(pncp_integration_server):
    pncp_integration_server.reset()
    yield pncp_integration_server
    pncp_integration_server.reset()


@pytest.fixture(scope="session")
def mlflow_server():
    process = _start_mlflow()
    wait_http(f"http://127.0.0.1:{MLFLOW_PORT}/health", 180, process)
    return os.environ["MLFLOW_TRACKING_URI"]


PREFECT_DB = f"nexora_test_prefect_{os.getpid()}"


def prefect_database_url() -> str:
    """The session Prefect server's database: PostgreSQL, as production runs it. On SQLite, concurrent task-run
    writes found the database locked many times a collection, and each 503 cost Prefect's client a 2 s back-off:
    the suite waited minutes on them. The embedded SQLite server is exercised by test_stack and test_schedules."""
    return PG_ADMIN_URL.rsplit("/", 1)[0].replace("+psycopg", "+asyncpg") + f"/{PREFECT_DB}"


def _recreate_database(name: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def _drop_database(name: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def prefect_server():
    _recreate_database(PREFECT_DB)
    log = open(TMP / "prefect-server.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "prefect"),
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(PREFECT_PORT),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, "PREFECT_SERVER_DATABASE_CONNECTION_URL": prefect_database_url()},
    )
    try:
        wait_http(f"http://127.0.0.1:{PREFECT_PORT}/api/health", 120, process)
        yield os.environ["PREFECT_API_URL"]
    finally:
        stop(process)
        log.close()
        _drop_database(PREFECT_DB)


def _migrate_and_seed(url: str) -> None:
    from models.crud.templates import seed_templates
    from models.db import session_scope
    from models.migrate import upgrade
    from tests.utils.builders import seed_people

    upgrade(url)
    with session_scope(url) as session:
        seed_templates(session)
        seed_people(session)


@pytest.fixture(scope="session")
def sqlite_url():
    from core.settings import settings

    _migrate_and_seed(settings.database_url)
    return settings.database_url


@pytest.fixture(scope="session")
def pg_url():
    """A fresh PostgreSQL database on the local server for this session (dropped at the end)."""
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_DB}"'))
        conn.execute(text(f'CREATE DATABASE "{PG_DB}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{PG_DB}"
    _migrate_and_seed(url)
    yield url
    from models.db import get_engine

    get_engine(url).dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def api_url(prefect_server, sqlite_url, mlflow_server):
    """The API in a thread of the test process, once per session: the app object holds one Prefect client, which a
    second server in the same process would replace and close on its way out."""
    from tests.utils.api_thread import api_in_thread

    with api_in_thread() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request):
    """Each database test runs on SQLite and on PostgreSQL."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


@pytest.fixture
def session(db_url):
    from models.db import session_scope

    with session_scope(db_url) as s:
        yield s


@pytest.fixture
def use_db(db_url, monkeypatch):
    """Point the app (flows, tasks, API) at the parametrized database for this test."""
    from core.settings import settings

    monkeypatch.setattr(settings, "DATABASE_URL", db_url)
    return db_url


def unique(prefix: str = "") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def signing_pki():
    """A test CA and a PKCS#12 per test person in SIGNING_PKCS12_FILE, made now (never committed)."""
    from tests.utils.builders import PEOPLE
    from tests.utils.pki import make_pki

    return make_pki(TMP / "signing", {identifier: name for identifier, (name, _, _) in PEOPLE.items()})
