"""The reporting API: reporters without an account, staff with a second factor and their key."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from probity.core.services import api_token_create
from probity.reporting import services
from probity.reporting.models import Channel, Report
from tests.conftest import TEST_PASSWORD
from tests.reporting.conftest import Staff

pytestmark = pytest.mark.django_db

BASE = "/api/v1/reporting"


def post(client: Client, path: str, body: Any = None, **headers: str) -> Any:
    return client.post(BASE + path, json.dumps(body or {}), content_type="application/json", headers=headers)


def file_report(client: Client, channel: Channel, text: str = "Kickbacks on the bridge tender") -> dict[str, Any]:
    challenge = post(client, "/challenge").json()
    solution = services.pow_solve(token=challenge["token"], bits=challenge["bits"])
    response = post(
        client,
        "/reports",
        {"channel": channel.slug, "answers": {"what": text}, "challenge": challenge["token"], "solution": solution},
    )
    assert response.status_code == 201, response.content
    return dict(response.json())


def test_reporter_files_signs_in_and_writes(channel: Channel) -> None:
    client = Client()
    channels = client.get(BASE + "/channels").json()
    assert [c["slug"] for c in channels] == ["procurement"]
    filed = file_report(client, channel)
    assert len(filed["receipt"].replace(" ", "")) == 16 and filed["receipt_bits"] > 53
    session = post(client, "/reporter/session", {"receipt": filed["receipt"]})
    assert session.status_code == 201
    token = session.json()["token"]
    headers = {"X-Reporter-Session": token}
    response = post(client, "/reporter/messages", {"text": "Also the asphalt contract"}, **headers)
    assert response.status_code == 201, response.content
    upload = client.post(
        BASE + "/reporter/attachments",
        {"file": SimpleUploadedFile("memo.txt", b"memo body")},
        headers={"X-Reporter-Session": token},
    )
    assert upload.status_code == 201, upload.content
    assert upload.json()["name"] == "memo.txt"
    report = client.get(BASE + "/reporter/report", headers={"X-Reporter-Session": token}).json()
    assert report["timeline"][0]["body"] == {"what": "Kickbacks on the bridge tender"}
    texts = [item["body"].get("text") for item in report["timeline"]]
    assert "Also the asphalt contract" in texts
    download = client.get(BASE + f"/reporter/attachments/{upload.json()['id']}", headers={"X-Reporter-Session": token})
    assert b"".join(download.streaming_content) == b"memo body"  # type: ignore[attr-defined]
    assert client.get(BASE + "/reporter/report").status_code == 401
    client.delete(BASE + "/reporter/session", headers={"X-Reporter-Session": token})
    assert client.get(BASE + "/reporter/report", headers={"X-Reporter-Session": token}).status_code == 401


def test_receipt_guessing_is_throttled_over_the_api(channel: Channel) -> None:
    client = Client()
    filed = file_report(client, channel)
    statuses = [post(client, "/reporter/session", {"receipt": f"{n:016d}"}).status_code for n in range(5)]
    assert statuses == [404] * 5
    blocked = post(client, "/reporter/session", {"receipt": filed["receipt"]})
    assert blocked.status_code == 429
    assert blocked.json()["error"]["code"] == "too_many_requests"
    assert blocked.json()["error"]["details"]["retry_after"] > 0


def test_submission_needs_a_challenge(channel: Channel) -> None:
    client = Client()
    response = post(client, "/reports", {"channel": channel.slug, "answers": {"what": "x"}, "challenge": "nope"})
    assert response.status_code == 400
    assert set(response.json()["error"]) == {"code", "message", "details"}
    assert Report.objects.count() == 0


def test_invalid_answers_are_refused(channel: Channel) -> None:
    client = Client()
    challenge = post(client, "/challenge").json()
    response = post(
        client,
        "/reports",
        {
            "channel": "procurement",
            "answers": {"who": "mayor"},
            "challenge": challenge["token"],
            "solution": services.pow_solve(token=challenge["token"], bits=challenge["bits"]),
        },
    )
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"what": "an answer is required", "who": "is not one of the choices"}


def test_oversized_and_malformed_uploads_are_refused_cleanly(channel: Channel) -> None:
    client = Client()
    filed = file_report(client, channel)
    token = post(client, "/reporter/session", {"receipt": filed["receipt"]}).json()["token"]
    big = SimpleUploadedFile("big.bin", b"x" * (channel.max_attachment_bytes + 1))
    response = client.post(BASE + "/reporter/attachments", {"file": big}, headers={"X-Reporter-Session": token})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "attachment_rejected"
    empty = client.post(
        BASE + "/reporter/attachments",
        {"file": SimpleUploadedFile("e.txt", b"")},
        headers={"X-Reporter-Session": token},
    )
    assert empty.status_code == 400
    missing = client.post(BASE + "/reporter/attachments", {}, headers={"X-Reporter-Session": token})
    assert missing.status_code == 422
    broken_jpeg = SimpleUploadedFile("photo.jpg", b"\xff\xd8\xff\xe0 not really a jpeg")
    accepted = client.post(BASE + "/reporter/attachments", {"file": broken_jpeg}, headers={"X-Reporter-Session": token})
    assert accepted.status_code == 201  # kept as evidence, but no stripped copy
    assert accepted.json()["stripping"] == "failed" and not accepted.json()["has_stripped_copy"]
    for n in range(channel.max_attachments - 1):
        client.post(
            BASE + "/reporter/attachments",
            {"file": SimpleUploadedFile(f"{n}.txt", b"x")},
            headers={"X-Reporter-Session": token},
        )
    too_many = client.post(
        BASE + "/reporter/attachments",
        {"file": SimpleUploadedFile("n.txt", b"x")},
        headers={"X-Reporter-Session": token},
    )
    assert too_many.status_code == 400
    assert "At most 3 files" in too_many.json()["error"]["message"]


def test_uploads_never_touch_the_disk_in_plain(channel: Channel, monkeypatch: pytest.MonkeyPatch) -> None:
    from django.core.files import uploadhandler

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a plaintext temporary file was opened")

    monkeypatch.setattr(uploadhandler.TemporaryFileUploadHandler, "new_file", refuse)
    channel.max_attachment_bytes = 4 * 1024 * 1024
    channel.save()
    client = Client()
    filed = file_report(client, channel)
    token = post(client, "/reporter/session", {"receipt": filed["receipt"]}).json()["token"]
    big = SimpleUploadedFile("scan.bin", b"s" * (3 * 1024 * 1024))  # above Django's 2.5 MB in-memory limit
    response = client.post(BASE + "/reporter/attachments", {"file": big}, headers={"X-Reporter-Session": token})
    assert response.status_code == 201, response.content
    assert response.json()["size"] == 3 * 1024 * 1024


def test_staff_with_key_reads_and_answers(
    channel: Channel, handler: Staff, verified_client: Callable[..., Client]
) -> None:
    filed = file_report(Client(), channel)
    client = verified_client(user=handler.user)
    cases = client.get(BASE + "/cases").json()
    assert [c["reference"] for c in cases] == [filed["reference"]]
    locked = client.get(BASE + f"/cases/{filed['reference']}")
    assert locked.status_code == 403 and locked.json()["error"]["code"] == "key_locked"
    detail = client.get(BASE + f"/cases/{filed['reference']}", headers={"X-Reporting-Password": TEST_PASSWORD})
    assert detail.status_code == 200, detail.content
    assert detail.json()["timeline"][0]["body"]["what"] == "Kickbacks on the bridge tender"
    assert detail.json()["identity"] is None
    acknowledged = client.post(BASE + f"/cases/{filed['reference']}/acknowledge", "{}", content_type="application/json")
    assert acknowledged.status_code == 200 and acknowledged.json()["status"] == "acknowledged"


def test_session_key_unlocked_in_the_browser_works(
    channel: Channel, handler: Staff, verified_client: Callable[..., Client]
) -> None:
    filed = file_report(Client(), channel)
    client = verified_client(user=handler.user)
    session = client.session
    cookie_value = services.staff_session_store(session=session, private_key=handler.private_key)
    session.save()
    from django.core.signing import get_cookie_signer

    signer = get_cookie_signer(salt=services.STAFF_KEY_COOKIE + services.STAFF_KEY_COOKIE_SALT)
    client.cookies[services.STAFF_KEY_COOKIE] = signer.sign(cookie_value)
    detail = client.get(BASE + f"/cases/{filed['reference']}")
    assert detail.status_code == 200, detail.content


def test_staff_without_assignment_cannot_read_via_api(
    channel: Channel, make_staff: Callable[..., Staff], verified_client: Callable[..., Client]
) -> None:
    filed = file_report(Client(), channel)
    outsider = make_staff("case_handler")
    client = verified_client(user=outsider.user)
    assert client.get(BASE + "/cases").json() == []
    response = client.get(BASE + f"/cases/{filed['reference']}", headers={"X-Reporting-Password": TEST_PASSWORD})
    assert response.status_code == 404
    assert post(client, f"/cases/{filed['reference']}/messages", {"text": "hi"}).status_code == 404
    admin = verified_client("administrator")
    assert admin.get(BASE + f"/cases/{filed['reference']}").status_code == 403
    analyst = verified_client("analyst")
    assert analyst.get(BASE + "/cases").status_code == 403


def test_staff_session_needs_second_factor(channel: Channel, handler: Staff) -> None:
    client = Client()
    client.force_login(handler.user)
    response = client.get(BASE + "/cases")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "second_factor_required"


def test_bearer_token_with_password_header(channel: Channel, handler: Staff) -> None:
    filed = file_report(Client(), channel)
    _token, secret = api_token_create(user=handler.user, name="cli")
    client = Client()
    headers = {"Authorization": f"Bearer {secret}", "X-Reporting-Password": TEST_PASSWORD}
    detail = client.get(BASE + f"/cases/{filed['reference']}", headers=headers)
    assert detail.status_code == 200
    wrong = client.get(
        BASE + f"/cases/{filed['reference']}", headers={**headers, "X-Reporting-Password": "not my password at all"}
    )
    assert wrong.status_code == 403


def test_statistics_need_permission(channel: Channel, verified_client: Callable[..., Client]) -> None:
    file_report(Client(), channel)
    assert verified_client("auditor").get(BASE + "/statistics").json()["total"]["received"] == "<3"
    assert verified_client("analyst").get(BASE + "/statistics").status_code == 403


def test_endpoints_have_valid_openapi_models() -> None:
    """Each operation's models give a JSON schema (what /api/v1/openapi.json is built from)."""
    from probity.reporting.api import router

    paths = set(router.path_operations)
    assert {"/reports", "/reporter/session", "/cases/{reference}", "/statistics"} <= paths
    for view in router.path_operations.values():
        for operation in view.operations:
            for model in operation.models:
                assert model.model_json_schema()
