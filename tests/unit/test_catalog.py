"""prefect.yaml and the `serve` runner come from one list: a test fails if they drift."""

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from deployments.api.schedule_status import SCHEDULER_GRACE, schedule_problem
from deployments.catalog import DEPLOYMENTS, render_prefect_yaml
from deployments.runner import to_deployment

ROOT = Path(__file__).resolve().parents[2]


def test_committed_prefect_yaml_is_current():
    assert (ROOT / "prefect.yaml").read_text(encoding="utf-8") == render_prefect_yaml(), (
        "prefect.yaml is stale: run `nexora deployments yaml`"
    )


def test_serve_and_yaml_declare_the_same_deployments():
    declared = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))["deployments"]
    served = [to_deployment(spec) for spec in DEPLOYMENTS]
    assert [(d["name"], d["entrypoint"].split(":")[1]) for d in declared] == [
        (s.name, spec.entrypoint.split(":")[1]) for s, spec in zip(served, DEPLOYMENTS, strict=True)
    ]
    for entry, deployment in zip(declared, served, strict=True):
        assert set(entry["tags"]) == set(deployment.tags)
        assert deployment.flow_name == spec_flow_name(entry["entrypoint"])
        assert entry.get("concurrency_limit") == (deployment.concurrency_limit or None)
        assert entry["parameters"] == deployment.parameters and entry["description"] == deployment.description
        yaml_schedules = [(s["slug"], s.get("cron"), s.get("interval")) for s in entry["schedules"]]
        served_schedules = [
            (
                s.slug,
                getattr(s.schedule, "cron", None),
                s.schedule.interval.total_seconds() if hasattr(s.schedule, "interval") else None,
            )
            for s in deployment.schedules or []
        ]
        assert yaml_schedules == served_schedules, entry["entrypoint"]
        assert entry["work_pool"]["name"] == "nexora-process"


def test_every_scheduled_deployment_has_slugged_schedules_with_the_issue_cadence():
    declared = {
        d["entrypoint"].split(":")[1]: d
        for d in yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))["deployments"]
    }
    assert declared["collect_pncp"]["schedules"][0]["cron"] == "0 3 * * *"  # daily
    assert declared["train_price_model"]["schedules"][0]["cron"] == "0 4 * * 1"  # weekly
    assert declared["deliver_notifications"]["schedules"][0]["interval"] == 60  # every minute
    assert declared["collect_pncp_documents"]["schedules"][0]["cron"] == "0 5 * * *"  # daily, after collect-pncp
    slugs = [s["slug"] for d in declared.values() for s in d["schedules"]]
    assert len(slugs) == len(set(slugs)) == 4


def spec_flow_name(entrypoint: str) -> str:
    return next(s.flow_name for s in DEPLOYMENTS if s.entrypoint == entrypoint)


def test_an_active_schedule_without_runs_is_a_problem_once_the_scheduler_had_its_chance():
    now = datetime.now(UTC)
    old = now - SCHEDULER_GRACE - timedelta(seconds=1)
    assert schedule_problem(1, False, None, old, now) is not None
    assert schedule_problem(1, False, None, now - timedelta(seconds=5), now) is None  # just deployed
    assert schedule_problem(1, False, now + timedelta(hours=1), old, now) is None
    assert schedule_problem(1, True, None, old, now) is None  # paused on purpose
    assert schedule_problem(0, False, None, old, now) is None  # on demand only


def test_paused_schedules_are_registered_inactive_and_the_others_stay_active(monkeypatch):
    from core.settings import settings

    monkeypatch.setattr(settings, "SCHEDULES_PAUSED", "collect-pncp, train-price-model")
    served = {spec.flow_name: to_deployment(spec) for spec in DEPLOYMENTS if spec.cron or spec.interval_seconds}
    assert [s.active for s in served["collect-pncp"].schedules] == [False]
    assert [s.active for s in served["train-price-model"].schedules] == [False]
    assert [s.active for s in served["deliver-notifications"].schedules] == [True]
    monkeypatch.setattr(settings, "SCHEDULES_PAUSED", "*")
    assert not any(s.active for spec in DEPLOYMENTS for s in to_deployment(spec).schedules or [])


def test_automations_compare_equal_whatever_the_order_of_their_sets():
    from deployments.operations.prefect_setup import _comparable

    class Dumped:
        def __init__(self, expect):
            self.expect = expect

        def model_dump(self, exclude=None):
            return {"trigger": {"expect": self.expect, "after": {"a", "b"}}, "actions": [{"x": (1, 2)}]}

    events = [f"prefect.flow-run.{state}" for state in ("Failed", "Crashed", "TimedOut", "Cancelled")]
    assert _comparable(Dumped(set(events))) == _comparable(Dumped(set(events)))
    assert _comparable(Dumped(set(events))) != _comparable(Dumped(set(events[:2])))


def test_the_pool_template_sets_only_the_flow_run_command():
    from prefect.workers.process import ProcessWorker

    from deployments.operations.stack import ENGINE_COMMAND, process_pool_template

    ours, prefects = process_pool_template(), ProcessWorker.get_default_base_job_template()
    assert ours["variables"]["properties"]["command"]["default"] == ENGINE_COMMAND == "python -m prefect.engine"
    ours["variables"]["properties"]["command"]["default"] = None
    assert ours == prefects  # the rest is Prefect's own, whatever its version


def test_an_automation_is_the_same_whatever_the_order_of_its_trigger_sets():
    """`nexora setup` run twice changes nothing: a trigger's `expect`/`after` are sets of strings, whose order
    changes from one process to the next (string hashing is randomised per process); the second run once reported
    the crash automation "atualizada". Two processes with other hash seeds must see the same automations."""
    import os
    import subprocess
    import sys

    code = (
        "import json, uuid; from core.settings import settings; "
        "from deployments.operations.prefect_setup import _comparable, automation_specs; "
        "print(json.dumps([_comparable(a) for a in automation_specs(settings, uuid.UUID(int=1))], default=str))"
    )
    seen = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parents[2],
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(seen) == 1 and '"expect"' in seen.pop()


def test_a_command_run_in_process_leaves_the_ui_calling_the_api_already_set(monkeypatch):
    """apply_prefect_env fills what is missing from PREFECT_API_URL when it is set: a Prefect server this process
    starts afterwards serves a UI that calls that server, not 127.0.0.1:4200 (the browser test met it)."""
    from core.settings import Settings
    from deployments.operations.stack import apply_prefect_env

    monkeypatch.setattr(os, "environ", dict(os.environ))  # what it sets stays in this test
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4321/api")
    for name in ("PREFECT_UI_API_URL", "PREFECT_HOME", "PREFECT_LOCAL_STORAGE_PATH"):
        monkeypatch.delenv(name, raising=False)
    apply_prefect_env(Settings(PREFECT_PORT=4200))
    assert os.environ["PREFECT_UI_API_URL"] == "http://127.0.0.1:4321/api"
    monkeypatch.delenv("PREFECT_API_URL")
    monkeypatch.delenv("PREFECT_UI_API_URL")
    apply_prefect_env(Settings(PREFECT_PORT=4300))
    assert os.environ["PREFECT_API_URL"] == os.environ["PREFECT_UI_API_URL"] == "http://127.0.0.1:4300/api"
