"""Every page speaks the user's language: the Chinese catalogue is complete, pages show no English in
Chinese, and Arabic turns the page right to left."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.test import Client
from django.urls import reverse

from probity.core.models import Finding, Organisation, Person, PublicBody
from probity.core.services import detector_run

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "probity"
LOCALE = PACKAGE / "locale"
# The project catalogue plus each module's own (``src/probity/<app>/locale``), so modules never edit one file.
CHINESE_CATALOGUES = sorted(PACKAGE.glob("**/locale/zh_Hans/LC_MESSAGES/django.po"))

# Words that are the same in every language here: the product name, standards and protocol names.
ALLOWED_LATIN = {
    "Probity",
    "API",
    "TOTP",
    "Bearer",
    "TOKEN",
    "UNCAC",
    "Authorization",
    "CODE",
    "probity",
    "detectors",
    "run",
    "DuckDB",
    "Spark",
    "Ibis",
    "QR",
    "LEI",
    "VAT",
    "ISO",
    "OCDS",
    "BODS",
    "CSV",
    "FollowTheMoney",
    "FtM",
}
TECHNICAL = re.compile(
    r"^(?:[A-Z0-9]+(?:-[A-Z0-9]+)+|[a-z_]+\.[a-z_]+|[a-z_]+:?|[a-z0-9_]+(?:/[a-z0-9_]*)+|prb_\w*|\d[\w:.-]*)$"
)


ISO_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T[\d:.]+(?:Z|[+-]\d{2}:?\d{2})?")


class VisibleText(HTMLParser):
    """Collects the text a person sees or hears: text nodes and the labelling attributes.

    Text inside an element marked as another language (the language switch names each language in
    its own script, ``<option lang="en">English</option>``) is that language on purpose and skipped.
    """

    SKIP = {"script", "style", "code", "pre"}
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self, page_language: str = "zh-hans") -> None:
        super().__init__()
        self.texts: list[str] = []
        self._skip = 0
        self._page_language = page_language
        self._open: list[bool] = []  # per open element: does it start a skipped region?

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        language = dict(attrs).get("lang")
        skipped = tag in self.SKIP or bool(tag != "html" and language and language != self._page_language)
        self._skip += skipped
        if tag not in self.VOID:
            self._open.append(skipped)
        for name, value in attrs:
            if name in {"aria-label", "alt", "title", "placeholder"} and value:
                self.texts.append(value)
            if tag == "input" and name == "value" and dict(attrs).get("type") in {"submit", "button"} and value:
                self.texts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if self._open and self._open.pop() and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.texts.append(data.strip())


def untranslated_words(html: str) -> list[str]:
    parser = VisibleText()
    parser.feed(html)
    found = []
    for text in parser.texts:
        text = ISO_DATE_TIME.sub("", text)  # data, not words: 2023-03-28T09:00:00Z
        for word in re.findall(r"[A-Za-z][A-Za-z0-9_./:-]{2,}", text):
            if word not in ALLOWED_LATIN and not TECHNICAL.match(word):
                found.append(f"{word!r} in {text!r}")
    return found


@pytest.mark.parametrize("po", CHINESE_CATALOGUES, ids=lambda po: str(po.relative_to(PACKAGE)))
def test_chinese_catalogue_is_complete_and_has_no_fuzzy_entries(po: Path) -> None:
    with po.open("rb") as handle:
        catalogue = read_po(handle)
    missing = [m.id for m in catalogue if m.id and not (all(m.string) if isinstance(m.string, tuple) else m.string)]
    fuzzy = [m.id for m in catalogue if m.id and m.fuzzy]
    assert not missing, f"untranslated: {missing[:10]}"
    assert not fuzzy, f"fuzzy: {fuzzy[:10]}"
    assert len(catalogue) > (100 if po.is_relative_to(LOCALE) else 0)


def test_compiled_catalogues_are_newer_than_their_sources() -> None:
    for po in sorted(PACKAGE.glob("**/locale/*/LC_MESSAGES/django.po")):
        mo = po.with_suffix(".mo")
        assert mo.exists(), f"{mo} missing: run make messages"
        with po.open("rb") as handle:
            translated = {m.id for m in read_po(handle) if m.id and m.string}
        from babel.messages.mofile import read_mo

        with mo.open("rb") as handle:
            compiled = {m.id if isinstance(m.id, str) else tuple(m.id) for m in read_mo(handle) if m.id}
        assert translated <= compiled, f"{mo} is out of date: run make messages"


@pytest.mark.django_db
def test_every_page_shows_no_english_in_chinese(verified_client) -> None:  # type: ignore[no-untyped-def]
    from probity.core.services import user_create

    # A Chinese user name, so the only Latin text left on a page is what the page itself says.
    admin = user_create(username="管理员", password="x" * 20, roles=["administrator"])
    client = verified_client(user=admin)
    ministry = PublicBody.objects.create(name="交通部", kind="ministry")
    PublicBody.objects.create(name="道路局", kind="agency", parent=ministry)
    person = Person.objects.create(name="张伟")
    a = Organisation.objects.create(name="甲公司")
    b = Organisation.objects.create(name="乙公司")
    for organisation in (a, b):
        organisation.identifiers.create(scheme="tax_id", issuer="CN", value="91110000")
    detector_run(code="CORE-ID-SHARED")
    finding = Finding.objects.filter(outcome="flag").first()
    assert finding is not None
    client.cookies["django_language"] = "zh-hans"
    paths = [
        reverse("core:dashboard"),
        reverse("core:findings"),
        reverse("core:finding", args=[finding.pk]),
        reverse("core:detectors"),
        reverse("core:bodies"),
        reverse("core:people"),
        reverse("core:person", args=[person.pk]),
        reverse("core:organisations"),
        reverse("core:audit"),
        reverse("core:tokens"),
        reverse("warehouse:status"),
    ]
    problems = {}
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        assert 'lang="zh-hans"' in response.content.decode()
        words = untranslated_words(response.content.decode())
        if words:
            problems[path] = words[:8]
    signed_out = Client()
    signed_out.cookies["django_language"] = "zh-hans"
    for path in (reverse("core:login"),):
        words = untranslated_words(signed_out.get(path).content.decode())
        if words:
            problems[path] = words[:8]
    assert not problems, problems


@pytest.mark.django_db
def test_arabic_pages_are_right_to_left(client: Client) -> None:
    client.cookies["django_language"] = "ar"
    html = client.get(reverse("core:login")).content.decode()
    assert '<html lang="ar" dir="rtl">' in html


@pytest.mark.django_db
def test_english_pages_are_left_to_right(client: Client) -> None:
    html = client.get(reverse("core:login")).content.decode()
    assert '<html lang="en" dir="ltr">' in html
