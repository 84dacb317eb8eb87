"""Shared set-up for benchmarks: a temporary home, a Prefect server, the loopback LLM, the API.

Import this module first: it sets the environment before Prefect or the project is imported.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.utils.ports import free_port  # noqa: E402

HOME = Path(tempfile.mkdtemp(prefix="nexora-bench-"))
PREFECT_PORT, LLM_PORT = free_port(), free_port()
os.environ.update({
    "ENVIRONMENT": "test",
    "DATA_DIR": str(HOME / "data"),
    "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{HOME / 'data' / 'bench.db'}"),
    "SECRET_KEY": "bench-secret-key",
    "OPENAI_API_KEY": "sk-bench-loopback",
    "OPENAI_BASE_URL": f"http://127.0.0.1:{LLM_PORT}/v1",
    "OPENAI_MODEL": "fake-gpt",
    "HTTP_CLIENT_TIMEOUT": "30",
    "PREFECT_HOME": str(HOME / "prefect"),
    "PREFECT_API_URL": f"http://127.0.0.1:{PREFECT_PORT}/api",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_LOCAL_STORAGE_PATH": str(HOME / "prefect" / "storage"),
    "PREFECT_LOGGING_LEVEL": "WARNING",
})

_MEMORY_GIB = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30)
MACHINE = f"{os.cpu_count()} cores, {_MEMORY_GIB} GiB, {platform.python_implementation()} {platform.python_version()}"


def wait_http(url: str, timeout: float = 120) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} not up after {timeout} s")


PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


class Processes:
    def __init__(self):
        self.procs: list[subprocess.Popen] = []
        self.pg_databases: list[str] = []

    def start(self, name: str, argv: list[str]) -> subprocess.Popen:
        log = open(HOME / f"{name}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(argv, cwd=ROOT, env=dict(os.environ), stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.procs.append(proc)
        return proc

    def prefect_server(self, database: str = "sqlite") -> None:
        """A Prefect server on SQLite (embedded mode) or on a fresh PostgreSQL database (production)."""
        if database == "postgresql":
            from sqlalchemy import create_engine, text

            name = f"nexora_bench_prefect_{os.getpid()}"
            admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            admin.dispose()
            self.pg_databases.append(name)
            os.environ["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
        self.start("prefect", [str(Path(sys.executable).parent / "prefect"), "server", "start", "--host",
                               "127.0.0.1", "--port", str(PREFECT_PORT)])
        wait_http(f"http://127.0.0.1:{PREFECT_PORT}/api/health")

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        if self.pg_databases:
            from sqlalchemy import create_engine, text

            admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                for name in self.pg_databases:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(HOME, ignore_errors=True)


def prepare_database() -> None:
    from models.crud.templates import seed_templates
    from models.db import session_scope
    from models.migrate import upgrade

    upgrade()
    with session_scope() as session:
        seed_templates(session)


def emit(record: dict) -> None:
    print(json.dumps({**record, "machine": MACHINE}, ensure_ascii=False))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def run_seconds(state) -> float:
    """A finished flow run's duration on the server: start → final state (what an API client sees)."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        run = client.read_flow_run(state.state_details.flow_run_id)
    return (run.end_time - run.start_time).total_seconds()
