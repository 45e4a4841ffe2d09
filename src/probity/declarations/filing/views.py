"""E-filing pages: "My declarations", the multi-step form, the receipt; deadlines and non-filers.

A declarant (a user linked to a ``core.Person``) sees and edits only their own declarations and
drafts, whatever other roles they hold. Every form works without JavaScript: adding or removing a
row is a submit button, and every button saves the draft first. Administrators set deadlines
(``declarations.add_filingdeadline``) and read the overdue and non-filer lists
(``declarations.view_filingdeadline``), also as CSV.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.forms.utils import ErrorDict
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from probity.declarations import deadlines as deadline_service
from probity.declarations.filing import selectors, services, steps
from probity.declarations.filing.services import FilingError
from probity.declarations.filing.steps import CHOICE_LABELS, SECTION_TITLES, STEP_NAMES, STEPS
from probity.declarations.forms import (
    HEADER_FIELDS,
    REQUIRED_HEADER,
    DeadlineForm,
    HeaderForm,
    ObligationFilterForm,
    StartForm,
    attach_errors,
    error_field,
    error_text,
    header_content,
    header_data,
    header_error_field,
    prefixed,
    row_content,
    row_data,
    row_form_class,
)
from probity.declarations.models import Declaration, DeclarationDraft, FilingDeadline
from probity.declarations.schema import DeclarationInvalid, FieldError
from probity.declarations.views import acting_user, allowed_by

MAX_ROWS = 500


def _person(request: HttpRequest) -> Any:
    person = selectors.person_for_user(user=request.user)
    if person is None:
        raise PermissionDenied(_("Your account is not linked to a declarant, so you have no declarations to file."))
    return person


@login_required
def filing_home(request: HttpRequest) -> HttpResponse:
    person = selectors.person_for_user(user=request.user)
    if person is None:
        return render(request, "declarations/filing/home.html", {"person": None}, status=200)
    obligations = deadline_service.obligations(person=person)
    today = timezone.localdate()
    declarations = selectors.declarations_of(person=person)
    rows = []
    for declaration in declarations:
        has_draft = DeclarationDraft.objects.filter(declaration=declaration).exists()
        versions = sorted(declaration.versions.all(), key=lambda v: v.number)
        rows.append({"declaration": declaration, "has_draft": has_draft, "versions": versions})
    return render(
        request,
        "declarations/filing/home.html",
        {
            "person": person,
            "obligations": obligations,
            "today": today,
            "rows": rows,
            "start_form": StartForm(initial={"declaration_type": "annual", "year": today.year - 1}),
        },
    )


@login_required
@require_POST
def filing_start(request: HttpRequest) -> HttpResponse:
    """Opens (or reopens) the draft of a declaration: new, pre-filled, or a correction."""
    person = _person(request)
    form = StartForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose the type and year of the declaration."))
        return redirect("declarations:filing_home")
    try:
        draft = services.draft_start(
            person=person,
            declaration_type=form.cleaned_data["declaration_type"],
            year=form.cleaned_data["year"],
            actor=acting_user(request),
        )
    except FilingError as exc:
        messages.error(request, str(exc))
        return redirect("declarations:filing_home")
    return redirect("declarations:filing_step", declaration_id=draft.declaration_id, step=draft.step or "header")


def _owners(content: dict[str, Any]) -> list[tuple[str, str]]:
    owners = [("declarant", _("Declarant (you)"))]
    for member in content.get("family_members") or []:
        if not isinstance(member, dict) or not member.get("id"):
            continue
        name = member.get("name") if isinstance(member.get("name"), str) and member.get("name") else member["id"]
        relation = CHOICE_LABELS.get(str(member.get("relation", "")), member.get("relation", ""))
        owners.append((str(member["id"]), f"{name} ({relation})"))
    return owners


ROW_PATH = re.compile(r"^(?P<section>[a-z_]+)\[(?P<index>\d+)\](?:\.(?P<rest>.*))?$")


def _section_forms(
    content: dict[str, Any], step: steps.Step, errors: list[FieldError] | None
) -> tuple[list[dict[str, Any]], list[str]]:
    """The row forms of each section of ``step``, bound to the draft's content, with the problems."""
    owners = _owners(content)
    by_row: dict[tuple[str, int], list[tuple[str | None, str]]] = {}
    loose: list[str] = []
    for error in errors or []:
        match = ROW_PATH.match(error.path)
        if match:
            key = (match["section"], int(match["index"]))
            by_row.setdefault(key, []).append(
                (error_field(match["section"], match["rest"] or "", error.message), error.message)
            )
        else:
            loose.append(error_text(error))
    sections = []
    for section in step.sections:
        cls = row_form_class(section)
        forms = []
        for index, row in enumerate(content.get(section) or []):
            prefix = f"{section}-{index}"
            row = row if isinstance(row, dict) else {}
            choices = owners
            owner = row.get("owner")
            if isinstance(owner, str) and owner and owner not in {value for value, _label in owners}:
                # Kept, not silently replaced: the owner was removed from the family (the check reports it).
                choices = [*owners, (owner, _("%(owner)s (not a listed family member)") % {"owner": owner})]
            form = cls(data=prefixed(prefix, row_data(section, row)), prefix=prefix, owners=choices)
            form.full_clean()
            if errors is None:
                form._errors = ErrorDict()  # type: ignore[attr-defined]  # a page opened, not saved: no problems shown yet
            attach_errors(form, by_row.get((section, index), []))
            forms.append(form)
        sections.append({"name": section, "title": SECTION_TITLES[section], "forms": forms, "count": len(forms)})
    return sections, loose


def _header_form(content: dict[str, Any], errors: list[FieldError] | None) -> tuple[HeaderForm, list[str]]:
    form = HeaderForm(data=header_data(content))
    form.full_clean()
    loose = []
    pairs: list[tuple[str | None, str]] = []
    for error in errors or []:
        name = header_error_field(error)
        if name is None:
            loose.append(error_text(error))
        else:
            pairs.append((name, error.message))
    attach_errors(form, pairs)
    return form, loose


def _values_from_post(request: HttpRequest, draft: DeclarationDraft, step: steps.Step) -> dict[str, Any]:
    post = request.POST
    if step.name == "header":
        return header_content(draft.content, post.get)
    values: dict[str, Any] = {}
    for section in step.sections:
        try:
            count = min(MAX_ROWS, max(0, int(post.get(f"{section}-count", "0"))))
        except ValueError:
            count = 0
        rows = []
        for index in range(count):
            prefix = f"{section}-{index}-"
            row = row_content(section, lambda name, prefix=prefix: post.get(prefix + name))
            if section == "family_members":
                row["id"] = (post.get(prefix + "id") or "").strip()
            rows.append(row)
        if section == "family_members":
            used = {r["id"] for r in rows if r.get("id")}
            number = 1
            for row in rows:
                if not row.get("id"):
                    while f"fm-{number}" in used:
                        number += 1
                    row["id"] = f"fm-{number}"
                    used.add(row["id"])
        values[section] = rows
    return values


def _apply_row_action(values: dict[str, Any], action: str, content: dict[str, Any]) -> str | None:
    """Adds or removes a row for "add:section" / "remove:section:index"; returns the section's anchor."""
    parts = action.split(":")
    if parts[0] == "add" and len(parts) == 2 and parts[1] in values:
        section = parts[1]
        rows = values[section]
        if len(rows) >= MAX_ROWS:
            return section
        if section == "family_members":
            used = {r.get("id") for r in rows}
            number = 1
            while f"fm-{number}" in used:
                number += 1
            rows.append({"id": f"fm-{number}", "relation": "spouse"})
        else:
            new: dict[str, Any] = {"owner": "declarant"}
            currency = content.get("reporting_currency")
            if currency:
                for spec in steps.section_fields(section):
                    if spec.kind == "money":
                        new[spec.name] = {"amount": "", "currency": currency}
            rows.append(new)
        return section
    if parts[0] == "remove" and len(parts) == 3 and parts[1] in values:
        section, index = parts[1], parts[2]
        if index.isdigit() and int(index) < len(values[section]):
            del values[section][int(index)]
        return section
    return None


def _step_context(
    draft: DeclarationDraft, step: steps.Step, errors: list[FieldError] | None, saved: bool
) -> dict[str, Any]:
    content = draft.content
    sections, loose = _section_forms(content, step, errors)
    header_form = None
    if step.name == "header":
        header_form, loose_header = _header_form(content, errors)
        loose += loose_header
    summary = []
    forms = ([header_form] if header_form else []) + [f for s in sections for f in s["forms"]]
    for form in forms:
        for error in form.non_field_errors():
            summary.append({"anchor": "", "label": "", "message": error})
        for name, field_errors in form.errors.items():
            if name == "__all__":
                continue
            bound = form[name]
            summary.append(
                {"anchor": bound.id_for_label or bound.auto_id, "label": bound.label, "message": field_errors[0]}
            )
    summary += [{"anchor": "", "label": "", "message": message} for message in loose]
    index = STEP_NAMES.index(step.name)
    return {
        "declaration": draft.declaration,
        "draft": draft,
        "step": step,
        "steps": STEPS,
        "step_number": index + 1,
        "previous_step": STEPS[index - 1] if index > 0 else None,
        "next_step": STEPS[index + 1] if index + 1 < len(STEPS) else None,
        "sections": sections,
        "header_form": header_form,
        "required_header": REQUIRED_HEADER,
        "header_fields": HEADER_FIELDS,
        "summary": summary,
        "saved": saved,
        "checked": errors is not None,
        "correction": draft.declaration.versions.exists(),
    }


def _draft_or_redirect(request: HttpRequest, declaration_id: int) -> DeclarationDraft | HttpResponse:
    person = _person(request)
    try:
        return services.draft_for(person=person, declaration_id=declaration_id)
    except FilingError:
        declaration = Declaration.objects.filter(pk=declaration_id, declarant=person).first()
        if declaration is None:
            raise Http404 from None
        messages.info(request, _("This declaration has no draft: start a correction to change it."))
        return redirect("declarations:filing_home")


@login_required
@require_http_methods(["GET", "POST"])
def filing_step(request: HttpRequest, declaration_id: int, step: str) -> HttpResponse:
    if step not in STEP_NAMES:
        raise Http404
    found = _draft_or_redirect(request, declaration_id)
    if isinstance(found, HttpResponse):
        return found
    draft = found
    current = steps.step_by_name(step)
    if current.name == "review":
        return _review(request, draft)
    if request.method == "GET":
        return render(request, "declarations/filing/step.html", _step_context(draft, current, None, False))

    action = request.POST.get("action", "save")
    values = _values_from_post(request, draft, current)
    anchor = _apply_row_action(values, action, draft.content)
    draft, errors = services.draft_save(draft=draft, step=current.name, values=values, actor=acting_user(request))
    url = reverse("declarations:filing_step", args=[draft.declaration_id, current.name])
    if anchor is not None:
        return redirect(f"{url}#{anchor}")
    index = STEP_NAMES.index(current.name)
    if action == "back" and index > 0:
        return redirect("declarations:filing_step", declaration_id=draft.declaration_id, step=STEP_NAMES[index - 1])
    if action.startswith("goto:") and action[5:] in STEP_NAMES:
        return redirect("declarations:filing_step", declaration_id=draft.declaration_id, step=action[5:])
    if action == "next" and not errors:
        return redirect("declarations:filing_step", declaration_id=draft.declaration_id, step=STEP_NAMES[index + 1])
    return render(request, "declarations/filing/step.html", _step_context(draft, current, errors, True))


def _display(value: Any) -> str:
    if isinstance(value, dict) and "not_provided" in value:
        return str(
            _("Not provided by the family member") if value["not_provided"] == "family_member_refused" else _("Unknown")
        )
    if isinstance(value, dict) and "amount" in value:
        return f"{value.get('amount', '')} {value.get('currency', '')}".strip()
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if isinstance(value, str) and value in CHOICE_LABELS:
        return str(CHOICE_LABELS[value])
    return "" if value is None else str(value)


def _summary(content: dict[str, Any]) -> list[dict[str, Any]]:
    owners = dict(_owners(content))
    out = []
    for step in STEPS:
        for section in step.sections:
            rows = []
            for row in content.get(section) or []:
                if not isinstance(row, dict):
                    continue
                items = []
                for spec in steps.section_fields(section):
                    if spec.name == "id" or spec.name not in row:
                        continue
                    value = row[spec.name]
                    text = owners.get(value, value) if spec.name == "owner" else _display(value)
                    items.append((spec.label, text))
                rows.append(items)
            out.append({"name": section, "title": SECTION_TITLES[section], "step": step, "rows": rows})
    return out


def _review(request: HttpRequest, draft: DeclarationDraft, status: int = 200) -> HttpResponse:
    errors = steps.step_errors(draft.content, "review")
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action.startswith("goto:") and action[5:] in STEP_NAMES:
            return redirect("declarations:filing_step", declaration_id=draft.declaration_id, step=action[5:])
        if action == "discard":
            services.draft_discard(draft=draft, actor=acting_user(request))
            messages.info(request, _("The draft was deleted."))
            return redirect("declarations:filing_home")
        if action == "submit":
            try:
                result = services.draft_submit(draft=draft, actor=acting_user(request))
            except DeclarationInvalid as exc:
                errors = exc.errors
                status = 422
            except FilingError as exc:
                messages.info(request, str(exc))
                return redirect("declarations:filing_home")
            else:
                return redirect(
                    "declarations:filing_receipt", declaration_id=result.declaration.pk, number=result.version.number
                )
    content = draft.content
    header = [
        (_("Type"), Declaration.Type(draft.declaration.declaration_type).label),
        (_("Year"), draft.declaration.year),
        (_("Declarant"), (content.get("declarant") or {}).get("name", "")),
        (_("Position"), (content.get("position") or {}).get("title", "")),
        (_("Public body"), ((content.get("position") or {}).get("body") or {}).get("name", "")),
        (_("Currency of the declaration"), content.get("reporting_currency", "")),
    ]
    grouped = []
    for step in STEPS:
        step_errors = [error_text(e) for e in errors if steps.step_of_error(e) == step.name]
        if step_errors:
            grouped.append({"step": step, "errors": step_errors})
    family = [
        {
            "name": _display(m.get("name")) or m.get("id"),
            "relation": _display(m.get("relation")),
            "birth_date": _display(m.get("birth_date")),
        }
        for m in content.get("family_members") or []
        if isinstance(m, dict)
    ]
    context = {
        "declaration": draft.declaration,
        "draft": draft,
        "step": steps.step_by_name("review"),
        "steps": STEPS,
        "step_number": len(STEPS),
        "header": header,
        "family": family,
        "sections": [s for s in _summary(content) if s["rows"]],
        "grouped_errors": grouped,
        "errors": errors,
        "changes": selectors.draft_diff(draft=draft),
        "correction": draft.declaration.versions.exists(),
    }
    return render(request, "declarations/filing/review.html", context, status=status)


@login_required
def filing_receipt(request: HttpRequest, declaration_id: int, number: int) -> HttpResponse:
    person = _person(request)
    declaration = Declaration.objects.filter(pk=declaration_id, declarant=person).first()
    version = declaration.versions.filter(number=number).first() if declaration else None
    if version is None:
        raise Http404
    return render(request, "declarations/filing/receipt.html", {"declaration": declaration, "version": version})


# --- administrators: deadlines, overdue and non-filers ------------------------------------------------


@login_required
@allowed_by(services.may_see_deadlines)
@require_http_methods(["GET", "POST"])
def deadlines(request: HttpRequest) -> HttpResponse:
    can_edit = services.may_set_deadlines(user=request.user)
    form = DeadlineForm()
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied
        form = DeadlineForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            _deadline, created = deadline_service.deadline_set(
                declaration_type=data["declaration_type"],
                year=data["year"],
                due_date=data["due_date"],
                body=data["body"],
                reminder_days=data["reminder_days"],
            )
            messages.success(request, _("The deadline was set.") if created else _("The deadline was changed."))
            return redirect("declarations:deadlines")
    today = timezone.localdate()
    rows = []
    for deadline in FilingDeadline.objects.select_related("body").order_by("-year", "declaration_type", "body__name"):
        obligations = deadline_service.obligations(
            declaration_type=deadline.declaration_type, year=deadline.year, body=deadline.body
        )
        mine = [o for o in obligations if o.deadline.pk == deadline.pk]
        rows.append(
            {
                "deadline": deadline,
                "obligated": len(mine),
                "submitted": sum(1 for o in mine if o.status == deadline_service.Status.SUBMITTED),
                "overdue": sum(1 for o in mine if o.overdue(today)),
            }
        )
    return render(
        request,
        "declarations/filing/deadlines.html",
        {"form": form, "rows": rows, "can_edit": can_edit, "today": today},
        status=400 if form.errors else 200,
    )


@login_required
@allowed_by(services.may_see_deadlines)
def nonfilers(request: HttpRequest) -> HttpResponse:
    form = ObligationFilterForm(request.GET or None)
    filters: dict[str, Any] = {}
    show = "all"
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        filters = {
            "declaration_type": data["declaration_type"] or None,
            "year": data["year"],
            "body": data["body"],
        }
        show = data["show"] or "all"
    today = timezone.localdate()
    items = deadline_service.nonfilers(today, **filters)
    if show == "overdue":
        items = [o for o in items if o.overdue(today)]
    elif show == "late":
        items = [o for o in items if o.late]
    if request.GET.get("format") == "csv":
        response = HttpResponse(deadline_service.to_csv(items), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="nonfilers-{today.isoformat()}.csv"'
        return response
    query = request.GET.copy()
    query["format"] = "csv"
    return render(
        request,
        "declarations/filing/nonfilers.html",
        {"form": form, "items": items, "today": today, "csv_query": query.urlencode()},
    )
