"""prefect.yaml and the `serve` runner come from one list: a test fails if they drift."""

from pathlib import Path

import yaml

from deployments.catalog import DEPLOYMENTS, render_prefect_yaml
from deployments.runner import to_deployment

ROOT = Path(__file__).resolve().parents[2]


def test_committed_prefect_yaml_is_current():
    assert (ROOT / "prefect.yaml").read_text(encoding="utf-8") == render_prefect_yaml(), \
        "prefect.yaml is stale: run `nexora deployments yaml`"


def test_serve_and_yaml_declare_the_same_deployments():
    declared = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))["deployments"]
    served = [to_deployment(spec) for spec in DEPLOYMENTS]
    assert [(d["name"], d["entrypoint"].split(":")[1]) for d in declared] == \
           [(s.name, spec.entrypoint.split(":")[1]) for s, spec in zip(served, DEPLOYMENTS, strict=True)]
    for entry, deployment in zip(declared, served, strict=True):
        assert set(entry["tags"]) == set(deployment.tags)
        assert deployment.flow_name == spec_flow_name(entry["entrypoint"])


def spec_flow_name(entrypoint: str) -> str:
    return next(s.flow_name for s in DEPLOYMENTS if s.entrypoint == entrypoint)
