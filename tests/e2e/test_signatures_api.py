"""Signatures through the API: each person the document names signs in its order (PKCS#12 certificates of a test
CA, then an external CMS posted while the Prefect run is Paused), refusals first, pyHanko validates the result."""

import asyncio
import base64
import time
import uuid
from io import BytesIO

import pytest

from tests.utils.builders import AUTHORITY, OTHER_AUTHORITY, actor, approve_document, make_document
from tests.utils.pki import PASSWORD, asn1

pytestmark = pytest.mark.usefixtures("runner")


def flow_run_state(flow_run_id: str) -> str:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as prefect:
        state = prefect.read_flow_run(uuid.UUID(flow_run_id)).state
    return state.type.value if state else ""


def wait_for_state(flow_run_id: str, wanted: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while (state := flow_run_state(flow_run_id)) != wanted:
        assert state not in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED") or state == wanted, state
        assert time.monotonic() < deadline, f"{flow_run_id}: {state}, not {wanted}"
        time.sleep(0.5)


def cancel(flow_run_id: str) -> None:
    from prefect.client.orchestration import get_client
    from prefect.states import Cancelling

    with get_client(sync_client=True) as prefect:
        prefect.set_flow_run_state(uuid.UUID(flow_run_id), Cancelling(), force=True)


def cms_for(pki, identifier: str, digest_hex: str) -> str:
    from pyhanko.sign import signers

    signer = signers.SimpleSigner.load_pkcs12(str(pki.folder / f"{identifier}.p12"), passphrase=PASSWORD.encode())
    cms = asyncio.run(signer.async_sign(bytes.fromhex(digest_hex), "sha256", use_pades=True))
    return base64.b64encode(cms.dump()).decode()


def sign(client, doc_id, person, **body):
    return client.post(f"/api/v1/documents/{doc_id}/signatures", json=body, headers=actor(person))


def signatures(client, doc_id):
    answer = client.get(f"/api/v1/documents/{doc_id}/signatures")
    assert answer.status_code == 200, answer.text
    return answer.json()


def pending_external(client, doc_id, person, certificate_pem):
    started = sign(client, doc_id, person, backend="external", certificado_pem=certificate_pem)
    assert started.status_code == 202, started.text
    run_id = started.json()["flow_run_id"]
    wait_for_state(run_id, "PAUSED")  # visible as Paused in the Prefect UI
    row = next(r for r in signatures(client, doc_id)["assinaturas"] if r["person"] == person)
    assert row["status"] == "pendente" and len(row["resumo_sha256"]) == 64 and row["flow_run_id"] == run_id
    return run_id, row


def test_named_people_sign_in_order_then_the_document_is_assinado(client, sqlite_url, signing_pki):
    from pyhanko.pdf_utils.reader import PdfFileReader

    from models.signing_rules import signature_box
    from tasks.sign import pades

    doc = make_document(sqlite_url, "ETP")
    approve_document(sqlite_url, doc)
    early = sign(client, doc, AUTHORITY)
    assert early.status_code == 409 and "consolidado" in early.json()["detail"]
    consolidated = client.post(f"/api/v1/documents/{doc}/consolidate", params={"wait": 90}, headers=actor(AUTHORITY))
    assert consolidated.status_code == 200 and consolidated.json()["state"] == "COMPLETED", consolidated.text

    listing = signatures(client, doc)
    order = [p["person"] for p in listing["ordem"]]
    assert order[-1] == AUTHORITY and len(order) >= 2 and listing["esperado"]["person"] == order[0]
    assert [p["role"] for p in listing["ordem"]][-1] == "autoridade_competente"

    stranger = sign(client, doc, OTHER_AUTHORITY)
    assert stranger.status_code == 403 and "não está entre as pessoas" in stranger.json()["detail"]
    out_of_order = sign(client, doc, AUTHORITY)
    assert out_of_order.status_code == 409 and order[0] in out_of_order.json()["detail"]
    assert sign(client, doc, order[0], backend="external").status_code == 422  # no certificate

    # who prepared it, with the platform's PKCS#12 of each person: the first through the CLI, the others the API
    from typer.testing import CliRunner

    from deployments.cli.app import app

    by_cli = CliRunner().invoke(
        app, ["documents", "sign", str(doc), "--actor", order[0], "--wait", "90"], terminal_width=200
    )
    assert by_cli.exit_code == 0 and "COMPLETED" in by_cli.output and "PAdES B-B" in by_cli.output, by_cli.output
    for person in order[1:-1]:
        started = sign(client, doc, person)
        assert started.status_code == 202, started.text
        assert started.json()["assinatura"]["status"] == "pendente"
        done = client.get(started.json()["status_url"], params={"wait": 90}).json()
        assert done["state"] == "COMPLETED", done
        assert done["result"]["person"] == person and done["result"]["level"] == "B-B"
    again = sign(client, doc, order[0])
    assert again.status_code == 409 and "já assinou" in again.json()["detail"]

    # the authority signs with an external signer: a CMS over another digest fails the run, a new request works
    certificate = signing_pki.people[AUTHORITY].cert_pem
    run_id, row = pending_external(client, doc, AUTHORITY, certificate)
    cms_url = f"/api/v1/documents/{doc}/signatures/{row['id']}/cms"
    other = client.post(cms_url, json={"cms_base64": cms_for(signing_pki, AUTHORITY, row["resumo_sha256"])})
    assert other.status_code == 403  # the planner may not post the authority's CMS
    wrong = client.post(
        cms_url, json={"cms_base64": cms_for(signing_pki, AUTHORITY, "00" * 32)}, headers=actor(AUTHORITY)
    )
    assert wrong.status_code == 202, wrong.text
    wait_for_state(run_id, "FAILED")
    failed = next(r for r in signatures(client, doc)["assinaturas"] if r["person"] == AUTHORITY)
    assert failed["status"] == "falhou" and "não valida" in failed["erro"]

    # a paused run cancelled in the Prefect UI: the next request releases it
    run_id, row = pending_external(client, doc, AUTHORITY, certificate)
    cancel(run_id)
    wait_for_state(run_id, "CANCELLED")

    run_id, row = pending_external(client, doc, AUTHORITY, certificate)
    cms_url = f"/api/v1/documents/{doc}/signatures/{row['id']}/cms"
    resumed = client.post(
        cms_url, json={"cms_base64": cms_for(signing_pki, AUTHORITY, row["resumo_sha256"])}, headers=actor(AUTHORITY)
    )
    assert resumed.status_code == 202, resumed.text
    done = client.get(resumed.json()["status_url"], params={"wait": 90}).json()
    assert done["state"] == "COMPLETED", done
    late = client.post(
        cms_url, json={"cms_base64": cms_for(signing_pki, AUTHORITY, "00" * 32)}, headers=actor(AUTHORITY)
    )
    assert late.status_code == 409

    final = signatures(client, doc)
    assert final["status"] == "assinado" and final["esperado"] is None
    assert [r["status"] for r in final["assinaturas"]] == ["assinada"] * len(order)
    assert all(r["validation"]["valid"] and r["validation"]["trusted"] for r in final["assinaturas"])
    signed = final["documento_assinado"]
    assert signed["kind"] == "assinado" and signed["signatures"] == len(order) and signed["signers"] == order
    assert client.get(f"/api/v1/documents/{doc}").json()["status"] == "assinado"
    kinds = {(a["kind"], a["signatures"]) for a in client.get(f"/api/v1/documents/{doc}/artifacts").json()}
    assert {("assinado", n) for n in range(1, len(order) + 1)} <= kinds

    pdf = client.get(signed["download_url"]).content
    summaries = pades.validate(pdf, [asn1(signing_pki.ca.cert)])
    assert [s["field"] for s in summaries] == [f"Assinatura-{i}" for i in range(1, len(order) + 1)]
    assert all(s["intact"] and s["valid"] and s["trusted"] for s in summaries)
    last_page = PdfFileReader(BytesIO(pdf)).root["/Pages"]["/Kids"][-1].get_object()
    rects = {
        str(a.get_object()["/T"]): tuple(float(v) for v in a.get_object()["/Rect"])
        for a in last_page["/Annots"]
        if "/T" in a.get_object()
    }
    assert rects == {f"Assinatura-{i + 1}": tuple(map(float, signature_box(i, len(order)))) for i in range(len(order))}
    audit = client.get(f"/api/v1/documents/{doc}/audit").json()
    assert audit[-1]["to_status"] == "assinado"


def test_cli_refuses_who_the_document_does_not_name(sqlite_url, signing_pki):
    from typer.testing import CliRunner

    from deployments.cli.app import app

    doc = make_document(sqlite_url, "TR")
    refused = CliRunner().invoke(app, ["documents", "sign", str(doc), "--actor", OTHER_AUTHORITY])
    assert refused.exit_code == 1 and "não está entre as pessoas" in refused.output
