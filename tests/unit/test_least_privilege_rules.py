"""Least privilege in answers (issue 21): the pure parts — header text, public storage addresses, run results as a
key sees them, which órgãos a key reaches."""

from __future__ import annotations

import pytest

from core.settings import settings
from deployments.api.run_service import shown_result
from models.apikey import ApiKey, reaches
from models.artifact import ArtifactPublic, public_storage_uri
from tasks.notify.messages import header_text

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "given,expected",
    [
        ("TR 23000.1/2026\r\nBcc: x@y.z", "TR 23000.1/2026 Bcc: x@y.z"),
        ("a\tb\x00c\u2028d", "a b c d"),
        ("  Ωμέγα  Łódź ", "Ωμέγα Łódź"),
    ],
)
def test_header_text_has_no_control_characters(given, expected):
    assert header_text(given) == expected
    assert len(header_text("x" * 500)) == 200


def test_a_local_file_is_shown_by_its_key_and_s3_as_it_is():
    assert public_storage_uri("file:///srv/var/artifacts/documents/a/v1/h.pdf", "documents/a/v1/h.pdf") == (
        "local:documents/a/v1/h.pdf"
    )
    assert public_storage_uri("s3://b/documents/a.pdf", "documents/a.pdf") == "s3://b/documents/a.pdf"


def test_a_run_result_hides_the_classified_annex_and_server_paths():
    root = settings.artifacts_dir.resolve().as_uri()
    result = {
        "artifacts": [
            {"format": "pdf", "classified": False, "storage_uri": f"{root}/documents/d/v1/a.pdf", "key": "k"},
            {"format": "pdf", "classified": True, "storage_uri": f"{root}/classificado/d.pdf", "sha256": "s"},
        ],
        "elsewhere": "file:///etc/passwd",
        "content": "file: not a path",
    }
    plain = shown_result(result, cleared=False)
    assert plain["artifacts"] == [
        {"format": "pdf", "classified": False, "storage_uri": "local:documents/d/v1/a.pdf", "key": "k"}
    ]
    assert plain["elsewhere"] == "local:[caminho do servidor omitido]" and plain["content"] == "file: not a path"
    cleared = shown_result(result, cleared=True)
    shown = [a["storage_uri"] for a in cleared["artifacts"]]
    assert shown == ["local:documents/d/v1/a.pdf", "local:classificado/d.pdf"]


def test_artifact_public_never_carries_a_server_path():
    shown = ArtifactPublic.model_validate(
        {
            "id": "00000000-0000-0000-0000-000000000001",
            "document_id": "00000000-0000-0000-0000-000000000002",
            "document_version": 1,
            "format": "pdf",
            "storage_uri": "file:///srv/var/artifacts/documents/x.pdf",
            "key": "documents/x.pdf",
            "sha256": "0" * 64,
            "size_bytes": 1,
            "template_version": 1,
            "flow_run_id": None,
            "created_at": "2026-12-04T00:00:00Z",
        }
    )
    assert shown.storage_uri == "local:documents/x.pdf"


def test_a_key_reaches_its_orgaos_or_every_one_when_unbound():
    bound = ApiKey(name="k", prefix="p", key_hash="h", scopes=["read"], orgaos=["Ministério da Saúde"])
    assert reaches(bound, "ministério  da saúde") and not reaches(bound, "Ministério da Gestão")
    assert reaches(ApiKey(name="k", prefix="q", key_hash="h", scopes=["read"]), "Qualquer órgão")
