"""The stack on this host: a Prefect server (with its UI), the flows' executors and the API, on loopback.

Embedded (default): the Prefect server on SQLite under DATA_DIR, the `serve` runner, the app database of
DATABASE_URL (SQLite by default). Production shape (``workers`` ≥ 1, ``postgres``): the app database and the Prefect
server's database on PostgreSQL (``<database>`` and ``<database>_prefect``, created when missing), the
``nexora-process`` work pool with the deployments of prefect.yaml (`prefect --no-prompt deploy --all`, the pull
step pointing at this checkout) and N process workers polling it, task results persisted by default on the shared
folder DATA_DIR/prefect/storage (a retried flow run reuses the results of the tasks that succeeded). Both shapes
apply `nexora setup` (limits and automations) before the API starts.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

from core.settings import Settings
from deployments.catalog import DEPLOYMENT_NAME, WORK_POOL


def prefect_env(settings: Settings, api_url: str | None = None) -> dict[str, str]:
    """Prefect settings for every process of the embedded stack (set before prefect is imported)."""
    home = (settings.DATA_DIR / "prefect").resolve()
    api_url = api_url or f"http://127.0.0.1:{settings.PREFECT_PORT}/api"
    return {
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": api_url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOCAL_STORAGE_PATH": str(home / "storage"),
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
        "PREFECT_SERVER_API_HOST": "127.0.0.1",
        "PREFECT_SERVER_API_PORT": str(settings.PREFECT_PORT),
        "PREFECT_UI_API_URL": api_url,  # what the browser calls: the same server
        "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": str(settings.FLOW_HEARTBEAT_SECONDS),
    }


def apply_prefect_env(settings: Settings) -> None:
    """Each setting not already in the environment; a server this process starts then serves a UI that calls the
    PREFECT_API_URL already set, not 127.0.0.1:PREFECT_PORT (a test session started its server on another port
    after a command had run in its process, and its UI called port 4200)."""
    for key, value in prefect_env(settings, os.environ.get("PREFECT_API_URL")).items():
        os.environ.setdefault(key, value)


ENGINE_COMMAND = "python -m prefect.engine"


def process_pool_template() -> dict:
    """The process work pool's job template with the flow-run command set: the worker then starts one process per
    run, the engine, instead of a workspace supervisor that starts the engine (Prefect 3.9: a second interpreter, about
    a second of CPU per run, for workspace features the pool does not use). ``python`` is the project's: the stack
    puts its virtualenv first in the workers' PATH (other hosts: start the worker with the virtualenv active)."""
    from prefect.workers.process import ProcessWorker

    template = ProcessWorker.get_default_base_job_template()
    template["variables"]["properties"]["command"]["default"] = ENGINE_COMMAND
    return template


class StackError(RuntimeError):
    pass


ROOT = Path(__file__).resolve().parents[2]


def prefect_database_url(app_url: str) -> str:
    """The Prefect server's database beside the app's: same server, database ``<name>_prefect``, asyncpg driver."""
    parsed = urlsplit(app_url)
    name = parsed.path.lstrip("/") or "nexora"
    return urlunsplit(("postgresql+asyncpg", parsed.netloc, f"/{name}_prefect", parsed.query, ""))


def ensure_postgres_database(url: str) -> None:
    """Create the database of ``url`` (any PostgreSQL driver prefix) when it does not exist."""
    import psycopg
    from psycopg import sql

    parsed = urlsplit(url)
    name = parsed.path.lstrip("/")
    admin = urlunsplit(("postgresql", parsed.netloc, "/postgres", "", ""))
    with psycopg.connect(admin, autocommit=True) as connection:
        if connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


@dataclass
class Stack:
    settings: Settings
    extra_env: dict[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    workers: int = 0  # 0: the `serve` runner; N: N process workers on the nexora-process pool
    postgres: str | None = None  # app database URL on PostgreSQL; the Prefect server's goes beside it

    def __post_init__(self) -> None:
        if self.postgres:
            self.extra_env.setdefault("DATABASE_URL", self.postgres)
            self.extra_env.setdefault("PREFECT_API_DATABASE_CONNECTION_URL", prefect_database_url(self.postgres))
        if self.workers:
            self.extra_env.setdefault("PREFECT_RESULTS_PERSIST_BY_DEFAULT", "true")
            poll = max(1, round(self.settings.RUNNER_POLL_SECONDS))
            self.extra_env.setdefault("PREFECT_WORKER_QUERY_SECONDS", str(poll))
            self.extra_env.setdefault("NEXORA_HOME", str(ROOT))
            # the pool's flow-run command is `python -m prefect.engine` (process_pool_template): this virtualenv's
            bindir = str(Path(sys.executable).parent)
            self.extra_env.setdefault("PATH", os.pathsep.join([bindir, os.environ.get("PATH", "")]))

    @property
    def prefect_api(self) -> str:
        return f"http://127.0.0.1:{self.settings.PREFECT_PORT}/api"

    @property
    def api_url(self) -> str:
        return f"http://{self.settings.API_HOST}:{self.settings.API_PORT}"

    def _start(self, name: str, argv: list[str]) -> subprocess.Popen:
        logs = (self.settings.DATA_DIR / "logs").resolve()
        logs.mkdir(parents=True, exist_ok=True)
        env = self._env()
        out = open(logs / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child for its lifetime
        process = subprocess.Popen(
            argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=Path.cwd()
        )
        self.processes[name] = process
        return process

    def _wait(self, name: str, check, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        process = self.processes[name]
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise StackError(
                    f"{name} saiu com código {process.returncode}; veja "
                    f"{self.settings.DATA_DIR / 'logs' / (name + '.log')}"
                )
            try:
                if check():
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise StackError(f"{name} não ficou pronto em {timeout:.0f} s")

    @staticmethod
    def _port_in_use(url: str) -> bool:
        try:
            httpx.get(url, timeout=1.0)
            return True
        except httpx.HTTPError:
            return False

    def start(self, expected_deployments: list[str]) -> None:
        bindir = Path(sys.executable).parent
        if self._port_in_use(f"http://127.0.0.1:{self.settings.PREFECT_PORT}/api/health"):
            raise StackError(f"A porta {self.settings.PREFECT_PORT} já está em uso; defina PREFECT_PORT.")
        if self.postgres:
            for url in (self.postgres, self.extra_env["PREFECT_API_DATABASE_CONNECTION_URL"]):
                ensure_postgres_database(url)
        self._start(
            "prefect-server",
            [
                str(bindir / "prefect"),
                "server",
                "start",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.settings.PREFECT_PORT),
            ],
        )
        self._wait("prefect-server", lambda: httpx.get(f"{self.prefect_api}/health", timeout=2).status_code == 200, 120)

        def deployments_ready() -> bool:
            return all(
                httpx.get(f"{self.prefect_api}/deployments/name/{name}", timeout=5).status_code == 200
                for name in expected_deployments
            )

        if self.workers:
            self.deploy()
            for number in range(1, self.workers + 1):
                self._start(
                    f"worker-{number}",
                    [
                        str(bindir / "prefect"),
                        "worker",
                        "start",
                        "--pool",
                        WORK_POOL,
                        "--type",
                        "process",
                        "--name",
                        f"nexora-worker-{number}",
                        "--limit",
                        str(self.settings.FLOW_RUN_LIMIT),
                    ],
                )
            self._wait("worker-1", lambda: self.online_workers() >= self.workers, 120)
        else:
            self._start("runner", [sys.executable, "-m", "deployments.runner"])
            self._wait("runner", deployments_ready, 120)
        self.setup()
        self._start(
            "api",
            [
                sys.executable,
                "-m",
                "uvicorn",
                "deployments.api.app:app",
                "--host",
                self.settings.API_HOST,
                "--port",
                str(self.settings.API_PORT),
                "--no-access-log",
            ],
        )
        self._wait("api", lambda: httpx.get(f"{self.api_url}/api/v1/health", timeout=2).status_code == 200, 60)

    def _env(self) -> dict[str, str]:
        return {**os.environ, **prefect_env(self.settings), **self.extra_env}

    def deploy(self) -> str:
        """The work pool (created when missing) and `prefect --no-prompt deploy --all` from this checkout."""
        bindir = Path(sys.executable).parent
        env = self._env()
        found = subprocess.run(
            [str(bindir / "prefect"), "work-pool", "inspect", WORK_POOL],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        template = (self.settings.DATA_DIR / "prefect" / "work-pool-template.json").resolve()
        template.parent.mkdir(parents=True, exist_ok=True)
        template.write_text(json.dumps(process_pool_template()))
        verb = ["update", WORK_POOL] if found.returncode == 0 else ["create", WORK_POOL, "--type", "process"]
        created = subprocess.run(
            [str(bindir / "prefect"), "work-pool", *verb, "--base-job-template", str(template)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if created.returncode != 0:
            raise StackError(f"work pool {WORK_POOL} não criado: {created.stdout[-500:]}{created.stderr[-500:]}")
        deployed = subprocess.run(
            [str(bindir / "prefect"), "--no-prompt", "deploy", "--all"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if deployed.returncode != 0:
            raise StackError(f"prefect deploy --all falhou: {deployed.stdout[-1500:]}{deployed.stderr[-1500:]}")
        return deployed.stdout

    def online_workers(self) -> int:
        answer = httpx.post(f"{self.prefect_api}/work_pools/{WORK_POOL}/workers/filter", json={}, timeout=5)
        return sum(1 for worker in answer.json() if worker.get("status") == "ONLINE") if answer.is_success else 0

    def setup(self) -> None:
        """`nexora setup` against this stack's Prefect server."""
        bindir = Path(sys.executable).parent
        done = subprocess.run(
            [str(bindir / "nexora"), "setup"], env=self._env(), capture_output=True, text=True, timeout=120
        )
        if done.returncode != 0:
            raise StackError(f"nexora setup falhou: {done.stdout[-800:]}{done.stderr[-800:]}")

    def active_runs(self) -> list[str]:
        """Names of the flow runs under way (pending, running, cancelling) on this stack's Prefect server."""
        answer = httpx.post(
            f"{self.prefect_api}/flow_runs/filter",
            json={"flow_runs": {"state": {"type": {"any_": ["PENDING", "RUNNING", "CANCELLING"]}}}, "limit": 50},
            timeout=5,
        )
        answer.raise_for_status()
        return [run["name"] for run in answer.json()]

    def pause_deployments(self) -> int:
        """Pause this stack's deployments (their auto-scheduled runs are deleted by the server); how many."""
        found = httpx.post(
            f"{self.prefect_api}/deployments/filter",
            json={"deployments": {"name": {"any_": [DEPLOYMENT_NAME]}}},
            timeout=5,
        )
        found.raise_for_status()
        for deployment in found.json():
            httpx.post(
                f"{self.prefect_api}/deployments/{deployment['id']}/pause_deployment", timeout=5
            ).raise_for_status()
        return len(found.json())

    def drain(self, timeout: float = 60.0, report=None) -> list[str]:
        """Wait (up to ``timeout``) for the runs under way to end before the executors stop: a run killed by the
        stop would be left Crashed in the UI, and the failure automation would queue a report that no one runs.
        Returns the runs still under way when the time ran out.

        The `serve` runner's deployments are paused first, as the runner itself does when it stops, only earlier:
        a scheduled run that came due while waiting would be started and then cancelled by the stop (a Cancelled
        delivery run left in the UI after `make demo`). The runner makes them active again when it next starts.
        The workers' deployments (prefect.yaml) are left as they are: their due runs wait for the next start."""
        deadline = time.monotonic() + timeout
        if not self.workers:
            try:
                self.pause_deployments()
            except httpx.HTTPError:
                return []
        told = False
        while True:
            try:
                running = self.active_runs()
            except httpx.HTTPError:
                return []
            if not running or time.monotonic() > deadline:
                return running
            if report and not told:
                report(f"aguardando {len(running)} execução(ões) em andamento terminar ({', '.join(running[:3])})…")
                told = True
            time.sleep(0.5)

    def dead(self) -> list[str]:
        return [name for name, p in self.processes.items() if p.poll() is not None]

    def stop(self) -> None:
        """Stop in reverse start order, each before the next: the runner pauses its deployments while
        the Prefect server is still there to hear it."""
        for name in reversed(list(self.processes)):
            process = self.processes[name]
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        self.processes.clear()
