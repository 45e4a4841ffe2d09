"""A plain dump of the database and of the file store holds none of a report's content.

Unique strings are planted in the answers, the identity, a reporter message, a staff message, a triage
note, the closure's action taken, an attachment's content and its file name; then every row of every
table (found by introspection, read with SELECT *) and every file under the store are searched for them
in plain text, base64 (all three alignments) and hex.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from PIL import Image

from probity.reporting import attachments as store
from probity.reporting import selectors, services
from probity.reporting.models import Channel, Report
from tests.reporting.conftest import Staff

pytestmark = pytest.mark.django_db

PLANTED = {
    "answer": "PLANTEDANSWERq7Zt9Lm2",
    "identity": "PLANTEDIDENTITYw3Rk8Pv5",
    "message": "PLANTEDMESSAGEx4Jn6Hb1",
    "staff_message": "PLANTEDSTAFFMSGd2Gs7Kc9",
    "note": "PLANTEDNOTEe5Vf3Ty8",
    "action": "PLANTEDACTIONu1Bw6Nq4",
    "file_content": "PLANTEDFILECONTENTm8Xc2Rz7",
    "file_name": "PLANTEDFILENAMEk9Dq1Ws3",
    "image_comment": "PLANTEDIMAGECOMMENTy6Hp4Lj2",
    "api_message": "PLANTEDAPIMESSAGEt3Nc5Qa8",
}


def encodings(text: str) -> list[bytes]:
    """The planted text as it could appear: plain, hex (both cases), base64 and urlsafe base64 at each
    alignment (only the characters fully determined by the text itself)."""
    raw = text.encode()
    forms = [raw, binascii.hexlify(raw), binascii.hexlify(raw).upper(), raw.decode().lower().encode()]
    for shift in range(3):
        for encoder in (base64.b64encode, base64.urlsafe_b64encode):
            encoded = encoder(b"\x00" * shift + raw)
            start = (shift * 8 + 5) // 6 + 1  # skip characters mixed with the padding bytes
            end = len(encoded) - 4  # and the last group, which may mix with what follows
            forms.append(encoded[start:end])
    return [f for f in forms if len(f) >= 8]


def cell_bytes(value: Any) -> bytes:
    if value is None:
        return b""
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False).encode()
    return str(value).encode()


def dump_database() -> bytes:
    chunks: list[bytes] = []
    with connection.cursor() as cursor:
        for table in sorted(connection.introspection.table_names(cursor)):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608  (table names from introspection)
            for row in cursor.fetchall():
                chunks.append(table.encode() + b":" + b"\x1f".join(cell_bytes(v) for v in row))
    return b"\n".join(chunks)


def dump_store() -> bytes:
    root = Path(settings.PROBITY_REPORTING_STORE)
    chunks = [p.name.encode() + b":" + p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()]
    assert chunks, "the store should hold the encrypted files"
    return b"\n".join(chunks)


def jpeg_with_comment(comment: str) -> bytes:
    image = Image.new("RGB", (8, 8), (200, 10, 10))
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x010E] = comment  # ImageDescription
    image.save(out, format="JPEG", exif=exif.tobytes(), comment=comment.encode())
    return out.getvalue()


def test_no_planted_text_in_database_or_store(channel: Channel, handler: Staff, custodian: Staff) -> None:
    files = [
        SimpleUploadedFile(f"{PLANTED['file_name']}.txt", f"secret: {PLANTED['file_content']}".encode()),
        SimpleUploadedFile("photo.jpg", jpeg_with_comment(PLANTED["image_comment"])),
    ]
    report, receipt = services.report_submit(
        channel=channel,
        answers={"what": f"The official took {PLANTED['answer']}", "who": "official"},
        attachments=files,
        identity={"name": PLANTED["identity"], "contact": "phone"},
    )
    session = services.reporter_sign_in(receipt=receipt)
    services.report_message_add(report=report, text=PLANTED["message"])
    token = services.reporter_session_open(session=session)
    response = Client().post(
        "/api/v1/reporting/reporter/messages",
        json.dumps({"text": PLANTED["api_message"]}),
        content_type="application/json",
        headers={"X-Reporter-Session": token},
    )
    assert response.status_code == 201
    services.report_message_add(report=report, text=PLANTED["staff_message"], author=handler.user)
    services.report_note_add(report=report, user=handler.user, text=PLANTED["note"])
    request = services.identity_disclosure_request(report=report, user=handler.user, reason="needed")
    services.identity_disclosure_approve(request=request, custodian=custodian.user, private_key=custodian.private_key)
    services.report_close(
        report=report, user=handler.user, outcome=Report.Outcome.ACTION_TAKEN, action_taken=PLANTED["action"]
    )

    # The content is really there, for those who hold the keys …
    keys = services.report_keys_for_staff(report=report, user=handler.user, private_key=handler.private_key)
    timeline = selectors.report_timeline(keys=keys, for_reporter=False)
    readable = json.dumps([item.as_dict() for item in timeline], default=str)
    for name in ("answer", "message", "api_message", "staff_message", "note", "file_name"):
        assert PLANTED[name] in readable, name
    assert selectors.report_identity(keys=keys) == {"name": PLANTED["identity"], "contact": "phone"}
    assert selectors.report_action_taken(keys=keys) == PLANTED["action"]
    attachments = {item.name: item for item in timeline[0].attachments}
    text_file = next(a for a in attachments.values() if a.name.startswith(PLANTED["file_name"]))
    from probity.reporting.models import Attachment

    _info, chunks = selectors.attachment_open(attachment=Attachment.objects.get(pk=text_file.id), keys=keys)
    assert PLANTED["file_content"].encode() in b"".join(chunks)
    photo = attachments["photo.jpg"]
    assert photo.stripping == "stripped"
    _info, stripped_chunks = selectors.attachment_open(
        attachment=Attachment.objects.get(pk=photo.id), keys=keys, stripped=True
    )
    assert PLANTED["image_comment"].encode() not in b"".join(stripped_chunks)

    # … but not in a dump.
    database, files_dump = dump_database(), dump_store()
    assert b"reporting_report" in database and b"core_auditentry" in database
    assert leaks(database, files_dump) == []
    digits = receipt.replace(" ", "").encode()
    assert digits not in database and digits not in files_dump


def leaks(database: bytes, files_dump: bytes) -> list[str]:
    found = []
    for name, text in PLANTED.items():
        for form in encodings(text):
            if form in database:
                found.append(f"{name} in the database as {form!r}")
            if form in files_dump:
                found.append(f"{name} in the file store as {form!r}")
    return found


def test_the_dump_check_catches_a_leak(channel: Channel, monkeypatch: pytest.MonkeyPatch) -> None:
    """With sealing of JSON broken (plain JSON, base64-encoded), the same check finds the answer."""
    from probity.reporting import crypto

    monkeypatch.setattr(crypto, "seal_json", lambda _key, value: base64.b64encode(json.dumps(value).encode()))
    services.report_submit(
        channel=channel,
        answers={"what": f"x {PLANTED['answer']}"},
        attachments=[SimpleUploadedFile("a.txt", b"content")],
    )
    found = leaks(dump_database(), dump_store())
    assert any(item.startswith("answer in the database") for item in found)


def test_encodings_would_catch_a_leak() -> None:
    """The search itself works: each encoding of a planted string is found inside surrounding data."""
    text = PLANTED["answer"]
    for prefix in (b"", b"a", b"ab"):
        blob = prefix + text.encode() + b" trailing data"
        assert any(form in base64.b64encode(blob) for form in encodings(text))
    assert any(form in binascii.hexlify(b"x" + text.encode()) for form in encodings(text))
    assert store.sniff(b"\xff\xd8\xff\xe0") == "image/jpeg"
