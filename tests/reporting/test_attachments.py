"""Attachments: encrypted store, limits, metadata stripping of images and PDFs."""

from __future__ import annotations

import io

import pikepdf
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import StopUpload
from PIL import Image

from probity.reporting import attachments as store
from probity.reporting import crypto, selectors, services
from probity.reporting.models import Attachment, Channel
from tests.reporting.conftest import Staff

pytestmark = pytest.mark.django_db


def jpeg_with_metadata() -> bytes:
    image = Image.new("RGB", (16, 16), (0, 128, 255))
    exif = Image.Exif()
    exif[0x010F] = "CameraMakerSecret"  # Make
    exif[0x0131] = "SoftwareSecret"  # Software
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes(), comment=b"CommentSecret", icc_profile=b"ICCSecret" * 4)
    return out.getvalue()


def png_with_text() -> bytes:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "PngAuthorSecret")
    out = io.BytesIO()
    Image.new("RGBA", (4, 4), (1, 2, 3, 4)).save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def pdf_with_metadata() -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    with pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False) as meta:
        meta["dc:creator"] = ["XmpCreatorSecret"]
    pdf.docinfo["/Author"] = "PdfAuthorSecret"
    pdf.docinfo["/Title"] = "PdfTitleSecret"
    out = io.BytesIO()
    pdf.save(out, compress_streams=False)
    return out.getvalue()


def test_jpeg_metadata_is_stripped() -> None:
    data = jpeg_with_metadata()
    assert b"CameraMakerSecret" in data and b"CommentSecret" in data
    result = store.strip_metadata(data, store.sniff(data))
    assert result.status == "stripped" and result.data is not None
    for secret in (b"CameraMakerSecret", b"SoftwareSecret", b"CommentSecret", b"ICCSecret"):
        assert secret not in result.data
    with Image.open(io.BytesIO(result.data)) as clean:
        assert clean.size == (16, 16)
        assert not clean.getexif()


def test_png_text_is_stripped() -> None:
    data = png_with_text()
    result = store.strip_metadata(data, store.sniff(data))
    assert result.status == "stripped" and result.data is not None
    assert b"PngAuthorSecret" in data and b"PngAuthorSecret" not in result.data


def test_pdf_docinfo_and_xmp_are_stripped() -> None:
    data = pdf_with_metadata()
    assert b"PdfAuthorSecret" in data and b"XmpCreatorSecret" in data
    result = store.strip_metadata(data, store.sniff(data))
    assert result.status == "stripped" and result.data is not None
    for secret in (b"PdfAuthorSecret", b"PdfTitleSecret", b"XmpCreatorSecret"):
        assert secret not in result.data
    with pikepdf.open(io.BytesIO(result.data)) as clean:
        assert len(clean.pages) == 1
        assert "/Metadata" not in clean.Root


def test_other_types_are_not_stripped_and_say_so() -> None:
    assert store.strip_metadata(b"PK\x03\x04 a docx", "application/zip").status == "not_supported"
    assert store.strip_metadata(b"%PDF-1.7 broken", "application/pdf").status == "failed"


def test_sniffing_ignores_the_claimed_name_and_type() -> None:
    assert store.sniff(b"%PDF-1.4") == "application/pdf"
    assert store.sniff(b"<script>alert(1)</script>") == "application/octet-stream"


def test_names_are_cleaned() -> None:
    assert store.clean_name("../../etc/passwd") == "passwd"
    assert store.clean_name("C:\\Users\\me\\report.pdf") == "report.pdf"
    assert store.clean_name("a\x00b\nc.txt") == "abc.txt"
    assert store.clean_name("...") == "file"


def test_stored_file_round_trips_and_detects_tampering(tmp_path: object) -> None:
    key = crypto.new_file_key()
    payload = bytes(range(256)) * 1000  # several chunks
    name, size, encrypted_size = store.store_write(key, [payload[:100_000], payload[100_000:]])
    assert size == len(payload) and encrypted_size > size
    assert b"".join(store.store_read(key, name)) == payload
    path = store.store_path(name)
    raw = bytearray(path.read_bytes())
    raw[40] ^= 1
    path.write_bytes(bytes(raw))
    with pytest.raises(crypto.DecryptionError):
        b"".join(store.store_read(key, name))
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(crypto.DecryptionError):
        b"".join(store.store_read(key, name))
    with pytest.raises(crypto.DecryptionError):
        b"".join(store.store_read(crypto.new_file_key(), name))


def test_truncation_at_a_chunk_boundary_is_detected() -> None:
    key = crypto.new_file_key()
    payload = b"z" * (crypto.CHUNK_BYTES * 2 + 10)
    name, _size, _encrypted = store.store_write(key, [payload])
    path = store.store_path(name)
    data = path.read_bytes()
    # drop the last record entirely: the previous chunk is not marked as the last one
    last_length = int.from_bytes(data[-(10 + 16 + 4) :][:4], "big")
    assert last_length == 10 + 16
    path.write_bytes(data[: -(4 + last_length)])
    with pytest.raises(crypto.DecryptionError):
        b"".join(store.store_read(key, name))


def test_attachment_keeps_original_and_stripped_copy(channel: Channel, handler: Staff) -> None:
    report, _receipt = services.report_submit(
        channel=channel,
        answers={"what": "see the photo"},
        attachments=[SimpleUploadedFile("IMG_0001.jpg", jpeg_with_metadata(), content_type="text/plain")],
    )
    attachment = Attachment.objects.get(report=report)
    assert attachment.stripping == "stripped" and attachment.stripped_storage_name
    keys = services.report_keys_for_staff(report=report, user=handler.user, private_key=handler.private_key)
    info, original = selectors.attachment_open(attachment=attachment, keys=keys)
    assert info.content_type == "image/jpeg"  # sniffed, not the claimed text/plain
    assert b"CameraMakerSecret" in b"".join(original)
    _info, stripped = selectors.attachment_open(attachment=attachment, keys=keys, stripped=True)
    assert b"CameraMakerSecret" not in b"".join(stripped)


def test_limits_refuse_cleanly_and_leave_nothing(channel: Channel) -> None:
    too_big = SimpleUploadedFile("big.bin", b"x" * (channel.max_attachment_bytes + 1))
    with pytest.raises(store.AttachmentRejected, match="at most"):
        services.report_submit(channel=channel, answers={"what": "x"}, attachments=[too_big])
    too_many = [SimpleUploadedFile(f"{n}.txt", b"x") for n in range(channel.max_attachments + 1)]
    with pytest.raises(store.AttachmentRejected, match="at most 3 files"):
        services.report_submit(channel=channel, answers={"what": "x"}, attachments=too_many)
    with pytest.raises(store.AttachmentRejected, match="empty"):
        services.report_submit(
            channel=channel,
            answers={"what": "x"},
            attachments=[SimpleUploadedFile("ok.txt", b"fine"), SimpleUploadedFile("e.txt", b"")],
        )
    assert not Attachment.objects.exists()
    assert list(store.store_dir().iterdir()) == []  # the first file of the failed submission was removed


def test_upload_handler_stops_at_the_limits() -> None:
    handler = store.ReportingUploadHandler(None, max_file_bytes=10, max_files=1)
    handler.new_file("file", "a.txt", "text/plain", 5)
    handler.receive_data_chunk(b"12345", 0)
    assert handler.file_complete(5).read() == b"12345"  # type: ignore[union-attr]
    with pytest.raises(StopUpload):
        handler.new_file("file", "b.txt", "text/plain", 5)
    assert handler.rejection == "at most 1 files may be attached"
    big = store.ReportingUploadHandler(None, max_file_bytes=10, max_files=2)
    big.new_file("file", "a.txt", "text/plain", None)
    with pytest.raises(StopUpload):
        big.receive_data_chunk(b"x" * 11, 0)
    assert big.rejection is not None and "10 bytes" in big.rejection
