"""Attachments: the encrypted file store, upload limits, type sniffing and metadata stripping.

* **Store** — one file per attachment (and one per stripped copy) under ``PROBITY_REPORTING_STORE``
  (default ``var/reporting-store``), named by a random id; the content is encrypted with the file's own
  key (``crypto.encrypt_stream``), so the store holds no plaintext, no original names and no types.
* **Uploads** — ``ReportingUploadHandler`` keeps an upload in memory (Django's default handler would
  spill files above 2.5 MB to a plaintext temporary file) and stops a request whose files exceed the
  channel's limits; views install it with ``request.upload_handlers = [ReportingUploadHandler(...)]``
  *before* touching ``request.POST``/``FILES``.
* **Stripping** — JPEG, PNG, GIF, WebP and TIFF images are re-encoded with Pillow from their pixels
  only (EXIF, XMP, IPTC, ICC profiles and comments dropped); PDFs through pikepdf with the document
  information dictionary and XMP metadata removed. **Not stripped**: every other type — office
  documents (docx, xlsx, odt …), audio, video, archives, HEIC/RAW images, text. Their original is kept
  encrypted and the handler is told that no stripped copy exists.
"""

from __future__ import annotations

import io
import os
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import InMemoryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from PIL import Image

from probity.reporting import crypto

IMAGE_FORMATS = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "GIF": "image/gif",
    "WEBP": "image/webp",
    "TIFF": "image/tiff",
}
STRIPPED_TYPES = (*IMAGE_FORMATS.values(), "application/pdf")
MAX_NAME_LENGTH = 255


class AttachmentRejected(ValueError):
    """An upload breaks a limit or is malformed; the message says which and why."""


def store_dir() -> Path:
    configured = getattr(settings, "PROBITY_REPORTING_STORE", None)
    path = Path(configured) if configured else Path(settings.VAR_DIR) / "reporting-store"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def store_path(name: str) -> Path:
    if not name or not all(ch in "0123456789abcdef" for ch in name):
        raise ValueError("not a store file name")
    return store_dir() / name


def store_write(key: bytes, chunks: Iterable[bytes]) -> tuple[str, int, int]:
    """Encrypts ``chunks`` into a new store file; returns (name, plaintext size, encrypted size)."""
    name = secrets.token_hex(16)
    path = store_path(name)
    try:
        with open(path, "xb") as out:
            size = crypto.encrypt_stream(key, chunks, out)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return name, size, path.stat().st_size


def store_read(key: bytes, name: str) -> Iterator[bytes]:
    with open(store_path(name), "rb") as source:
        yield from crypto.decrypt_stream(key, source)


def store_delete(name: str) -> bool:
    """Overwrites the file with random bytes, flushes it to disk, then removes it.

    On copy-on-write or flash storage the old blocks may survive the overwrite; the file was encrypted
    and its key is deleted with the report, which is what makes the deletion final (crypto-shredding).
    """
    if not name:
        return False
    path = store_path(name)
    if not path.exists():
        return False
    size = path.stat().st_size
    with open(path, "r+b") as handle:
        remaining = size
        while remaining > 0:
            step = min(remaining, 1024 * 1024)
            handle.write(os.urandom(step))
            remaining -= step
        handle.flush()
        os.fsync(handle.fileno())
    path.unlink()
    return True


# --- type sniffing and stripping --------------------------------------------------------------


def sniff(head: bytes) -> str:
    """The content type from the first bytes (never from the name or the browser's claim)."""
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "image/tiff"
    if head.startswith(b"PK\x03\x04"):
        return "application/zip"
    return "application/octet-stream"


def _strip_image(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        image_format = image.format or "PNG"
        if image_format not in IMAGE_FORMATS:
            raise AttachmentRejected("unsupported image format")
        frames = getattr(image, "n_frames", 1)
        image.load()
        if frames > 1 and image_format in {"GIF", "WEBP", "TIFF"}:
            # Animated images: keep the first frame only rather than carry metadata of the others.
            image.seek(0)
        clean = Image.frombytes(image.mode, image.size, image.tobytes())
        palette = image.getpalette() if image.mode == "P" else None
        if palette:
            clean.putpalette(palette)
        out = io.BytesIO()
        options: dict[str, Any] = {}
        if image_format == "JPEG":
            options["quality"] = 95
        clean.save(out, format=image_format, **options)
        return out.getvalue()


def _strip_pdf(data: bytes) -> bytes:
    import pikepdf  # a tenth of a second to import, for the rare PDF attachment only

    with pikepdf.open(io.BytesIO(data)) as pdf:
        if "/Metadata" in pdf.Root:
            del pdf.Root.Metadata
        for page in pdf.pages:
            if "/Metadata" in page.obj:
                del page.obj.Metadata
            if "/PieceInfo" in page.obj:
                del page.obj.PieceInfo
        if "/PieceInfo" in pdf.Root:
            del pdf.Root.PieceInfo
        # An empty document information dictionary; the save may not add a producer either.
        if "/Info" in pdf.trailer:
            del pdf.trailer.Info
        out = io.BytesIO()
        pdf.save(out, fix_metadata_version=False, deterministic_id=True)
        return out.getvalue()


@dataclass(frozen=True)
class StripResult:
    status: str  # "stripped", "not_supported" or "failed"
    data: bytes | None = None


def strip_metadata(data: bytes, content_type: str) -> StripResult:
    """A copy without metadata for images and PDFs; other types are not stripped (see the module doc)."""
    try:
        if content_type in IMAGE_FORMATS.values():
            return StripResult("stripped", _strip_image(data))
        if content_type == "application/pdf":
            return StripResult("stripped", _strip_pdf(data))
    except Exception:  # a malformed image or PDF: keep the original only  # noqa: BLE001
        return StripResult("failed")
    return StripResult("not_supported")


def clean_name(name: str) -> str:
    """The file name without any path, control characters or excessive length."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip().strip(".")
    return base[:MAX_NAME_LENGTH] or "file"


# --- uploads ------------------------------------------------------------------------------


class ReportingUploadHandler(FileUploadHandler):
    """Keeps uploads in memory, never on disk, and stops at the channel's limits.

    ``max_file_bytes`` and ``max_files`` come from the channel; a breach raises ``StopUpload`` (Django
    then ends the upload cleanly) and sets ``self.rejection`` for the view to report.
    """

    def __init__(self, request: Any = None, *, max_file_bytes: int, max_files: int) -> None:
        super().__init__(request)
        self.max_file_bytes = max_file_bytes
        self.max_files = max_files
        self.files_seen = 0
        self.rejection: str | None = None
        self._buffer: io.BytesIO | None = None
        self._size = 0

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.files_seen += 1
        if self.files_seen > self.max_files:
            self.rejection = f"at most {self.max_files} files may be attached"
            raise StopUpload(connection_reset=False)
        self._buffer = io.BytesIO()
        self._size = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self._size += len(raw_data)
        if self._size > self.max_file_bytes:
            self.rejection = f"a file may be at most {self.max_file_bytes} bytes"
            raise StopUpload(connection_reset=False)
        assert self._buffer is not None
        self._buffer.write(raw_data)
        return None

    def file_complete(self, file_size: int) -> InMemoryUploadedFile | None:
        if self._buffer is None:
            return None
        self._buffer.seek(0)
        return InMemoryUploadedFile(
            file=self._buffer,
            field_name=self.field_name,
            name=self.file_name,
            content_type=self.content_type,
            size=file_size,
            charset=self.charset,
            content_type_extra=self.content_type_extra,
        )
