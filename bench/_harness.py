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
os.environ.update(
    {
        "ENVIRONMENT": "test",
        "DATA_DIR": str(HOME / "data"),
        "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{HOME / 'data' / 'bench.db'}"),
        "SECRET_KEY": "bench-secret-key-of-the-benchmarks-only",
        "OPENAI_API_KEY": "sk-bench-loopback",
        "OPENAI_BASE_URL": f"http://127.0.0.1:{LLM_PORT}/v1",
        "OPENAI_MODEL": "fake-gpt",
        "HTTP_CLIENT_TIMEOUT": "30",
        "PREFECT_HOME": str(HOME / "prefect"),
        "PREFECT_API_URL": f"http://127.0.0.1:{PREFECT_PORT}/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOCAL_STORAGE_PATH": str(HOME / "prefect" / "storage"),
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "RUN_RATE_PER_MINUTE": "1000000",  # the benchmarks start thousands of runs with one key
        "RUN_RATE_BURST": "100000",
        "READ_RATE_PER_MINUTE": "10000000",  # and read and write with it as fast as the API answers
        "READ_RATE_BURST": "1000000",
        "WRITE_RATE_PER_MINUTE": "10000000",
        "WRITE_RATE_BURST": "1000000",
        "WAIT_MAX_PER_KEY": "1000",
        "WAIT_MAX_TOTAL": "10000",
        "LLM_DAILY_CALLS_PER_KEY": "100000000",
    }
)

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
        proc = subprocess.Popen(
            argv, cwd=ROOT, env=dict(os.environ), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.procs.append(proc)
        return proc

    def scratch_database(self, label: str) -> str:
        """A new, empty PostgreSQL database `nexora_bench_{label}_{pid}`, dropped by ``stop``; its name."""
        from sqlalchemy import create_engine, text

        name = f"nexora_bench_{label}_{os.getpid()}"
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        self.pg_databases.append(name)
        return name

    def migrated_database(self, kind: str, label: str) -> str:
        """The URL of a fresh database of ``kind`` ("sqlite": a file under the bench's home; else a scratch
        PostgreSQL database) migrated to head."""
        from models.migrate import upgrade

        if kind == "sqlite":
            url = f"sqlite:///{HOME / 'data' / f'{label}.db'}"
        else:
            url = PG_ADMIN.rsplit("/", 1)[0] + f"/{self.scratch_database(label)}"
        upgrade(url)
        return url

    def prefect_server(self, database: str = "sqlite") -> None:
        """A Prefect server on SQLite (embedded mode) or on a fresh PostgreSQL database (production)."""
        if database == "postgresql":
            name = self.scratch_database("prefect")
            os.environ["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = (
                f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
            )
        self.start(
            "prefect",
            [
                str(Path(sys.executable).parent / "prefect"),
                "server",
                "start",
                "--host",
                "127.0.0.1",
                "--port",
                str(PREFECT_PORT),
            ],
        )
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
    from tests.utils.builders import seed_people

    upgrade()
    with session_scope() as session:
        seed_templates(session)
        seed_people(session)


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


class Up:
    """`nexora up [--workers N] [--postgres URL]` as an operator runs it, in its own DATA_DIR and ports, with an API
    key; ``stop`` ends it (SIGINT, as Ctrl-C) and drops the PostgreSQL databases it created."""

    def __init__(self, name: str, workers: int = 0, postgres: bool = False, **env: str):
        self.name, self.workers = name, workers
        self.database = f"nexora_bench_{name.replace('-', '_')}_{os.getpid()}" if postgres else None
        self.prefect_port, api_port = free_port(), free_port()
        data = HOME / name
        self.env = {
            **os.environ,
            "DATA_DIR": str(data),
            "PREFECT_PORT": str(self.prefect_port),
            "API_PORT": str(api_port),
            "DATABASE_URL": f"sqlite:///{data / 'nexora.db'}",
            **env,
        }
        for key in (
            "PREFECT_API_URL",
            "PREFECT_HOME",
            "PREFECT_LOCAL_STORAGE_PATH",
            "PREFECT_SERVER_DATABASE_CONNECTION_URL",
        ):
            self.env.pop(key, None)
        if self.database:
            self.env["DATABASE_URL"] = f"postgresql://postgres@127.0.0.1:5432/{self.database}"
        self.api = f"http://127.0.0.1:{api_port}"
        self.prefect_api = f"http://127.0.0.1:{self.prefect_port}/api"
        self.process: subprocess.Popen | None = None
        self.key = ""
        self.headers: dict[str, str] = {}  # the API key, and the person acting (a member of the planning team)

    def start(self) -> Up:
        import re

        argv = [str(Path(sys.executable).parent / "nexora"), "up", "--workers", str(self.workers)]
        if self.database:
            argv += ["--postgres", self.env["DATABASE_URL"]]
        HOME.mkdir(parents=True, exist_ok=True)
        log = open(HOME / f"up-{self.name}.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + 300
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"nexora up ({self.name}) exited; see {HOME / f'up-{self.name}.log'}")
            try:
                import httpx

                if httpx.get(f"{self.api}/api/v1/health", timeout=2).status_code == 200:
                    break
            except Exception:  # noqa: BLE001 - not up yet
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"nexora up ({self.name}) not healthy after 300 s")
            time.sleep(0.5)
        created = subprocess.run(
            [
                str(Path(sys.executable).parent / "nexora"),
                "apikey",
                "create",
                f"bench-{self.name}",
                "-s",
                "read",
                "-s",
                "write",
                "-s",
                "run",
            ],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        found = re.search(r"nxk_[A-Za-z0-9_\-]+", created.stdout)
        if not found:
            raise RuntimeError(f"apikey create failed: {created.stdout}{created.stderr}")
        self.key = found.group(0)
        from tests.utils.builders import ORGAO, PLANNER

        added = subprocess.run(
            [
                str(Path(sys.executable).parent / "nexora"),
                "people",
                "add",
                PLANNER,
                "--name",
                "Ana Planejadora",
                "--orgao",
                ORGAO,
                "--role",
                "equipe_planejamento",
            ],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if added.returncode != 0:
            raise RuntimeError(f"people add failed: {added.stdout}{added.stderr}")
        self.headers = {"Authorization": f"Bearer {self.key}", "X-Actor": PLANNER}
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=90)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        if self.database:
            import psycopg

            with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as admin:
                for name in (self.database, f"{self.database}_prefect"):
                    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def __enter__(self) -> Up:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()
