"""The public register of declarations (anyone, no sign-in) and the staff page that runs publication.

The public pages read ``PublishedDeclaration`` only (the redacted copy), never a declaration version.
They need no account, so anonymous visitors reach them while the staff second-factor middleware is
active (it only stops signed-in staff who have not passed their second factor).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from probity.core.jobs import JobRefused, job_enqueue, job_url, status_sentence
from probity.declarations.jobs import open_data_dir
from probity.declarations.models import Declaration, PublishedDeclaration, RedactionProfile
from probity.declarations.publication import redaction, selectors, services
from probity.declarations.selectors import declarations_matching, missing_ids
from probity.declarations.views import acting_user, allowed_by

PAGE_SIZE = 25

SECTION_LABELS: dict[str, Any] = {
    "family_members": gettext_lazy("Family members"),
    "real_estate": gettext_lazy("Real estate"),
    "unfinished_construction": gettext_lazy("Unfinished construction"),
    "valuables": gettext_lazy("Valuables"),
    "vehicles": gettext_lazy("Vehicles"),
    "securities": gettext_lazy("Securities"),
    "corporate_rights": gettext_lazy("Corporate rights"),
    "beneficial_ownership": gettext_lazy("Beneficial ownership"),
    "intangible_assets": gettext_lazy("Intangible assets"),
    "income": gettext_lazy("Income, gifts and prizes"),
    "cash_and_accounts": gettext_lazy("Cash and bank accounts"),
    "liabilities": gettext_lazy("Liabilities"),
    "expenditures": gettext_lazy("Significant expenditures and transactions"),
    "outside_employment": gettext_lazy("Outside employment and positions"),
    "memberships": gettext_lazy("Memberships"),
}
HEADER_LABELS: dict[str, Any] = {
    "declarant": gettext_lazy("Declarant"),
    "position": gettext_lazy("Position"),
    "period": gettext_lazy("Period"),
    "totals": gettext_lazy("Totals"),
}
FIELD_LABELS: dict[str, Any] = {
    "id": gettext_lazy("Id"),
    "owner": gettext_lazy("Owner"),
    "name": gettext_lazy("Name"),
    "relation": gettext_lazy("Relation"),
    "birth_date": gettext_lazy("Date of birth"),
    "national_id": gettext_lazy("National ID"),
    "address": gettext_lazy("Address"),
    "kind": gettext_lazy("Kind"),
    "description": gettext_lazy("Description"),
    "notes": gettext_lazy("Notes"),
    "location": gettext_lazy("Location"),
    "area_m2": gettext_lazy("Area (m²)"),
    "share_percent": gettext_lazy("Share (%)"),
    "acquired": gettext_lazy("Acquired"),
    "started": gettext_lazy("Started"),
    "value": gettext_lazy("Value"),
    "amount": gettext_lazy("Amount"),
    "make_model": gettext_lazy("Make and model"),
    "year": gettext_lazy("Year"),
    "registration": gettext_lazy("Registration"),
    "issuer": gettext_lazy("Issuer"),
    "quantity": gettext_lazy("Quantity"),
    "company": gettext_lazy("Company"),
    "registry_number": gettext_lazy("Registry number"),
    "jurisdiction": gettext_lazy("Jurisdiction"),
    "nature": gettext_lazy("Nature of control"),
    "source": gettext_lazy("Source"),
    "institution": gettext_lazy("Institution"),
    "account_number": gettext_lazy("Account number"),
    "country": gettext_lazy("Country"),
    "creditor": gettext_lazy("Creditor"),
    "creditor_is_bank": gettext_lazy("Creditor is a bank"),
    "date": gettext_lazy("Date"),
    "counterparty": gettext_lazy("Counterparty"),
    "organisation": gettext_lazy("Organisation"),
    "role": gettext_lazy("Role"),
    "start": gettext_lazy("Start"),
    "end": gettext_lazy("End"),
    "title": gettext_lazy("Title"),
    "body": gettext_lazy("Body"),
    "start_date": gettext_lazy("Start date"),
    "is_pep": gettext_lazy("Politically exposed person"),
    "gender": gettext_lazy("Gender"),
    "income": gettext_lazy("Income"),
    "liabilities": gettext_lazy("Liabilities"),
}
# Codes of the schema's enumerations (kinds, relations, the owner "declarant") as words.
CODE_FIELDS = frozenset({"kind", "relation", "owner"})
CODE_LABELS: dict[str, Any] = {
    "declarant": gettext_lazy("declarant"),
    "spouse": gettext_lazy("spouse"),
    "child": gettext_lazy("child"),
    "parent": gettext_lazy("parent"),
    "sibling": gettext_lazy("sibling"),
    "other": gettext_lazy("other"),
    "apartment": gettext_lazy("apartment"),
    "house": gettext_lazy("house"),
    "land": gettext_lazy("land"),
    "garage": gettext_lazy("garage"),
    "summer_house": gettext_lazy("summer house"),
    "commercial": gettext_lazy("commercial property"),
    "room": gettext_lazy("room"),
    "car": gettext_lazy("car"),
    "motorcycle": gettext_lazy("motorcycle"),
    "truck": gettext_lazy("truck"),
    "boat": gettext_lazy("boat"),
    "aircraft": gettext_lazy("aircraft"),
    "salary": gettext_lazy("salary"),
    "business": gettext_lazy("business income"),
    "dividends": gettext_lazy("dividends"),
    "interest": gettext_lazy("interest"),
    "rent": gettext_lazy("rent"),
    "pension": gettext_lazy("pension"),
    "gift": gettext_lazy("gift"),
    "prize": gettext_lazy("prize"),
    "inheritance": gettext_lazy("inheritance"),
    "sale_of_property": gettext_lazy("sale of property"),
    "cash": gettext_lazy("cash"),
    "bank_account": gettext_lazy("bank account"),
    "deposit": gettext_lazy("deposit"),
    "mortgage": gettext_lazy("mortgage"),
    "loan": gettext_lazy("loan"),
    "credit_card": gettext_lazy("credit card"),
    "private_loan": gettext_lazy("private loan"),
    "real_estate_purchase": gettext_lazy("real estate purchase"),
    "vehicle_purchase": gettext_lazy("vehicle purchase"),
    "securities_purchase": gettext_lazy("securities purchase"),
    "other_asset_purchase": gettext_lazy("other asset purchase"),
    "sale": gettext_lazy("sale"),
    "gift_given": gettext_lazy("gift given"),
    "loan_repayment": gettext_lazy("loan repayment"),
    "consumption": gettext_lazy("consumption"),
}
NOT_PROVIDED = {
    "family_member_refused": gettext_lazy("not provided by the family member"),
    "unknown": gettext_lazy("unknown"),
}


# --- rendering published content ------------------------------------------------------------------


def _coded(field: str, value: Any) -> dict[str, Any]:
    if field in CODE_FIELDS and isinstance(value, str) and value in CODE_LABELS:
        return {"text": str(CODE_LABELS[value])}
    return _cell(value)


def _cell(value: Any) -> dict[str, Any]:
    """A published value for the template: text, or a withheld / not-provided note (all auto-escaped)."""
    if redaction.is_withheld(value):
        if value.get("label") == redaction.CHILD_LABEL:
            return {"withheld": True, "text": _("child (name withheld)")}
        return {"withheld": True, "text": _("withheld")}
    if isinstance(value, dict) and "not_provided" in value:
        return {"missing": True, "text": str(NOT_PROVIDED.get(value["not_provided"], value["not_provided"]))}
    if isinstance(value, dict) and set(value) == {"amount", "currency"}:
        return {"text": f"{value['amount']} {value['currency']}"}
    if isinstance(value, bool):
        return {"text": _("yes") if value else _("no")}
    if isinstance(value, dict):
        return {"text": "; ".join(f"{FIELD_LABELS.get(k, k)}: {_cell(v)['text']}" for k, v in value.items())}
    if isinstance(value, list):
        return {"text": "; ".join(_cell(v)["text"] for v in value)}
    return {"text": "" if value is None else str(value)}


def _owners(content: dict[str, Any]) -> dict[str, str]:
    """Owner references as words: "declarant", or the family member's relation and opaque id."""
    owners = {"declarant": str(CODE_LABELS["declarant"])}
    for member in content.get("family_members") or []:
        if isinstance(member, dict) and isinstance(member.get("id"), str):
            code = str(member.get("relation") or "")
            relation = str(CODE_LABELS.get(code, code))
            owners[member["id"]] = f"{relation} ({member['id']})" if relation else member["id"]
    return owners


def _row(row: Any, columns: list[str], owners: dict[str, str]) -> list[dict[str, Any]]:
    if not isinstance(row, dict) or redaction.is_withheld(row):
        return [_cell(row)] + [{"text": ""}] * (len(columns) - 1)
    cells = []
    for column in columns:
        value = row.get(column)
        if column not in row:
            cells.append({"text": ""})
        elif column == "owner" and isinstance(value, str) and value in owners:
            cells.append({"text": owners[value]})
        else:
            cells.append(_coded(column, value))
    return cells


def _sections(content: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The header blocks and the row sections of a published declaration, ready for the template."""
    header = []
    for key, label in HEADER_LABELS.items():
        block = content.get(key)
        if isinstance(block, dict) and block:
            header.append(
                {
                    "label": label,
                    "fields": [{"label": FIELD_LABELS.get(k, k), **_coded(k, v)} for k, v in block.items()],
                }
            )
    owners = _owners(content)
    sections = []
    for key, label in SECTION_LABELS.items():
        rows = content.get(key)
        if not isinstance(rows, list):
            continue
        columns: list[str] = []
        for row in rows:
            if isinstance(row, dict) and not redaction.is_withheld(row):
                columns += [c for c in row if c not in columns]
        columns = columns or ["value"]  # every row withheld: one column says so
        sections.append(
            {
                "key": key,
                "label": label,
                "columns": [FIELD_LABELS.get(c, c) for c in columns],
                "rows": [_row(row, columns, owners) for row in rows],
            }
        )
    return header, sections


# --- the public register --------------------------------------------------------------------------


def _criteria(request: HttpRequest) -> tuple[dict[str, Any], list[str]]:
    """The search from the query string, with a plain message for each value that cannot be used."""
    problems: list[str] = []
    year: int | None = None
    raw_year = request.GET.get("year", "").strip()
    if raw_year:
        try:
            year = int(raw_year)
        except ValueError:
            problems.append(_("The year must be a number such as 2023; it was ignored."))
        else:
            if not 1900 <= year <= 2200:
                problems.append(_("The year must be between 1900 and 2200; it was ignored."))
                year = None
    kind = request.GET.get("type", "").strip()
    if kind and kind not in Declaration.Type.values:
        problems.append(_("Unknown declaration type; it was ignored."))
        kind = ""
    return {
        "q": request.GET.get("q", "").strip()[:200],
        "body": request.GET.get("body", "").strip()[:200],
        "year": year,
        "declaration_type": kind,
    }, problems


def _query(criteria: dict[str, Any]) -> str:
    pairs = {
        "q": criteria["q"],
        "body": criteria["body"],
        "year": criteria["year"] or "",
        "type": criteria["declaration_type"],
    }
    return urlencode({k: v for k, v in pairs.items() if v != ""})


@require_GET
def public_register(request: HttpRequest) -> HttpResponse:
    criteria, problems = _criteria(request)
    queryset = selectors.public_declarations(**criteria)
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    query = _query(criteria)
    years = selectors.published_public().order_by("-year").values_list("year", flat=True).distinct()
    return render(
        request,
        "declarations/public/register.html",
        {
            "page": page,
            "criteria": criteria,
            "problems": problems,
            "query": query,
            "types": Declaration.Type.choices,
            "years": list(years),
            "searched": any(v for v in criteria.values()),
        },
    )


def _published(declaration_id: int) -> PublishedDeclaration:
    published = selectors.published_public().filter(declaration_id=declaration_id).first()
    if published is None:
        raise Http404("This declaration is not published.")
    return published


@require_GET
def public_declaration(request: HttpRequest, declaration_id: int) -> HttpResponse:
    published = _published(declaration_id)
    header, sections = _sections(published.content)
    return render(
        request,
        "declarations/public/declaration.html",
        {
            "published": published,
            "header": header,
            "sections": sections,
            "type_label": Declaration.Type(published.declaration_type).label,
        },
    )


def _attachment(response: HttpResponse | StreamingHttpResponse, filename: str) -> Any:
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_GET
def public_declaration_download(request: HttpRequest, declaration_id: int, fmt: str) -> HttpResponse:
    published = _published(declaration_id)
    if fmt == "json":
        body = "".join(selectors.json_lines(queryset=[published]))
        return _attachment(
            HttpResponse(body, content_type="application/json; charset=utf-8"), f"declaration-{declaration_id}.json"
        )
    body = "".join(selectors.csv_text(rows=selectors.csv_rows(published=published)))
    return _attachment(HttpResponse(body, content_type="text/csv; charset=utf-8"), f"declaration-{declaration_id}.csv")


@require_GET
def public_export(request: HttpRequest, fmt: str) -> StreamingHttpResponse:
    """Every published declaration of a search (or a year) in one file, streamed."""
    criteria, _problems = _criteria(request)
    queryset = selectors.public_declarations(**criteria)
    stem = f"declarations-{criteria['year']}" if criteria["year"] else "declarations"
    chunks: Iterator[str]
    if fmt == "json":
        chunks = selectors.json_lines(queryset=queryset.iterator(chunk_size=500))
        response = StreamingHttpResponse(chunks, content_type="application/json; charset=utf-8")
    else:
        rows = (row for p in queryset.iterator(chunk_size=500) for row in selectors.csv_rows(published=p))
        response = StreamingHttpResponse(selectors.csv_text(rows=rows), content_type="text/csv; charset=utf-8")
    return _attachment(response, f"{stem}.{fmt}")


# --- staff: profiles, publishing, withdrawing ------------------------------------------------------


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


@login_required
@allowed_by(services.may_see_publication)
@require_GET
def publication_manage(request: HttpRequest) -> HttpResponse:
    services.default_profile()
    profiles = [
        {
            "profile": profile,
            "fields": [p for p in profile.fields or [] if not str(p).startswith(redaction.PRIVATE_PREFIX)],
            "private": [
                str(p).removeprefix(redaction.PRIVATE_PREFIX)
                for p in profile.fields or []
                if str(p).startswith(redaction.PRIVATE_PREFIX)
            ],
        }
        for profile in RedactionProfile.objects.order_by("name")
    ]
    published = PublishedDeclaration.objects.select_related("profile", "version").order_by("-published_at")[:50]
    return render(
        request,
        "declarations/public/manage.html",
        {
            "profiles": profiles,
            "published": published,
            "types": Declaration.Type.choices,
            "may_publish": services.may_publish(user=request.user),
            "may_edit": services.may_edit_profiles(user=request.user),
            "published_count": PublishedDeclaration.objects.filter(withdrawn_at__isnull=True).count(),
            "open_data_dir": open_data_dir(),
        },
    )


@login_required
@allowed_by(services.may_edit_profiles)
@require_http_methods(["GET", "POST"])
def publication_profile(request: HttpRequest, name: str = "") -> HttpResponse:
    profile = RedactionProfile.objects.filter(name=name).first() if name else None
    if name and profile is None:
        raise Http404("There is no such redaction profile.")
    form = {
        "name": profile.name if profile else "",
        "description": profile.description if profile else "",
        "fields": "\n".join(p for p in (profile.fields if profile else []) if not p.startswith("private:")),
        "private": "\n".join(
            p.removeprefix("private:") for p in (profile.fields if profile else []) if p.startswith("private:")
        ),
        "is_default": profile.is_default if profile else False,
    }
    error = ""
    if request.method == "POST":
        form = {
            "name": request.POST.get("name", "").strip() if profile is None else profile.name,
            "description": request.POST.get("description", ""),
            "fields": request.POST.get("fields", ""),
            "private": request.POST.get("private", ""),
            "is_default": bool(request.POST.get("is_default")),
        }
        try:
            saved = services.profile_set(
                name=str(form["name"]),
                fields=_lines(str(form["fields"])),
                private=_lines(str(form["private"])),
                description=str(form["description"]),
                make_default=bool(form["is_default"]),
                actor=acting_user(request),
            )
        except redaction.ProfileInvalid as exc:
            error = str(exc)
        else:
            messages.success(
                request,
                _("Redaction profile %(name)s saved. Re-publish to apply it to published declarations.")
                % {"name": saved.name},
            )
            return redirect("declarations:publication_manage")
    return render(
        request,
        "declarations/public/profile.html",
        {"profile": profile, "form": form, "error": error, "status": 400 if error else 200},
        status=400 if error else 200,
    )


@login_required
@allowed_by(services.may_publish)
@require_POST
def publication_publish(request: HttpRequest) -> HttpResponse:
    if request.POST.get("background"):
        return _publish_in_background(request)
    year_raw = request.POST.get("year", "").strip()
    kind = request.POST.get("type", "").strip()
    ids_raw = request.POST.get("ids", "").replace(",", " ").split()
    try:
        year = int(year_raw) if year_raw else None
        ids = [int(i) for i in ids_raw] or None
        profile = services.profile_get(name=request.POST.get("profile", "").strip())
        declarations = declarations_matching(year=year, declaration_type=kind or None, ids=ids)
        report = services.publish(
            declarations=declarations, profile=profile, include_withdrawn=bool(ids), actor=acting_user(request)
        )
        report.skipped += missing_ids(ids=ids, declarations=declarations)
    except (ValueError, LookupError) as exc:
        messages.error(request, _("Nothing was published: %(reason)s") % {"reason": exc})
        return redirect("declarations:publication_manage")
    messages.success(
        request,
        _(
            "%(published)s published, %(replaced)s replaced by a newer version, %(unchanged)s unchanged, "
            "%(skipped)s skipped."
        )
        % {
            "published": report.published,
            "replaced": report.replaced,
            "unchanged": report.unchanged,
            "skipped": len(report.skipped),
        },
    )
    for problem in report.skipped[:20]:
        messages.warning(request, problem)
    return redirect("declarations:publication_manage")


def _publish_in_background(request: HttpRequest) -> HttpResponse:
    """ "Run in the background": queues ``declarations.publish`` with the form's values and shows the job."""
    action = "export" if request.POST.get("background") == "export" else "publish"
    parameters = {"action": action}
    if action == "publish":
        parameters |= {
            "year": request.POST.get("year", "").strip(),
            "declaration_type": request.POST.get("type", "").strip(),
            "ids": request.POST.get("ids", ""),
            "profile": request.POST.get("profile", "").strip(),
        }
    try:
        job = job_enqueue(kind="declarations.publish", parameters=parameters, actor=acting_user(request))
    except JobRefused as exc:
        messages.error(request, str(exc))
        return redirect("declarations:publication_manage")
    url = job_url(job)
    if url is None:
        messages.success(request, _("The job was queued: %(status)s") % {"status": status_sentence(job)})
        return redirect("declarations:publication_manage")
    return redirect(url)


@login_required
@allowed_by(services.may_withdraw)
@require_POST
def publication_withdraw(request: HttpRequest, declaration_id: int) -> HttpResponse:
    count = services.withdraw(declaration_ids=[declaration_id], actor=acting_user(request))
    if count:
        messages.success(request, _("The declaration was withdrawn from the public register."))
    else:
        messages.warning(request, _("The declaration was not published."))
    return redirect(reverse("declarations:publication_manage"))
