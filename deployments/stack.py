"""The embedded stack: a Prefect server (with its UI), the `serve` runner and the API, on loopback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from core.settings import Settings


def prefect_env(settings: Settings, api_url: str | None = None) -> dict[str, str]:
    """Prefect settings for every process of the embedded stack (set before prefect is imported)."""
    home = (settings.DATA_DIR / "prefect").resolve()
    return {
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": api_url or f"http://127.0.0.1:{settings.PREFECT_PORT}/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOCAL_STORAGE_PATH": str(home / "storage"),
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
        "PREFECT_SERVER_API_HOST": "127.0.0.1",
        "PREFECT_SERVER_API_PORT": str(settings.PREFECT_PORT),
        "PREFECT_UI_API_URL": f"http://127.0.0.1:{settings.PREFECT_PORT}/api",
        "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": str(settings.FLOW_HEARTBEAT_SECONDS),
    }


def apply_prefect_env(settings: Settings) -> None:
    for key, value in prefect_env(settings).items():
        os.environ.setdefault(key, value)


class StackError(RuntimeError):
    pass


@dataclass
class Stack:
    settings: Settings
    extra_env: dict[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def prefect_api(self) -> str:
        return f"http://127.0.0.1:{self.settings.PREFECT_PORT}/api"

    @property
    def api_url(self) -> str:
        return f"http://{self.settings.API_HOST}:{self.settings.API_PORT}"

    def _start(self, name: str, argv: list[str]) -> subprocess.Popen:
        logs = (self.settings.DATA_DIR / "logs").resolve()
        logs.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **prefect_env(self.settings), **self.extra_env}
        out = open(logs / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child for its lifetime
        process = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                   cwd=Path.cwd())
        self.processes[name] = process
        return process

    def _wait(self, name: str, check, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        process = self.processes[name]
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise StackError(f"{name} saiu com código {process.returncode}; veja "
                                 f"{self.settings.DATA_DIR / 'logs' / (name + '.log')}")
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
        self._start("prefect-server", [str(bindir / "prefect"), "server", "start", "--host", "127.0.0.1",
                                       "--port", str(self.settings.PREFECT_PORT)])
        self._wait("prefect-server", lambda: httpx.get(f"{self.prefect_api}/health", timeout=2).status_code == 200,
                   120)
        self._start("runner", [sys.executable, "-m", "deployments.runner"])

        def deployments_ready() -> bool:
            return all(httpx.get(f"{self.prefect_api}/deployments/name/{name}", timeout=5).status_code == 200
                       for name in expected_deployments)

        self._wait("runner", deployments_ready, 120)
        self._start("api", [sys.executable, "-m", "uvicorn", "deployments.api.app:app", "--host",
                            self.settings.API_HOST, "--port", str(self.settings.API_PORT), "--no-access-log"])
        self._wait("api", lambda: httpx.get(f"{self.api_url}/api/v1/health", timeout=2).status_code == 200, 60)

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
