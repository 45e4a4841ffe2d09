"""Selection for verification: risk queue, the verifiable random sample, the workflow, and the CLI."""

from __future__ import annotations

import copy
import hashlib
import hmac
import io
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from probity.core.models import AuditEntry, Finding, Person
from probity.core.services import detector_run
from probity.declarations.models import Declaration, SampleDraw, VerificationCase
from probity.declarations.services import declaration_submit
from probity.declarations.verification import compare, sampling, selectors
from probity.declarations.verification import services as verification

pytestmark = pytest.mark.django_db

SEED = "5eed" * 16


def _declare(payload: dict[str, Any], person: Person, external_id: str, year: int, **changes: Any) -> Declaration:
    content = copy.deepcopy(payload)
    content["external_id"], content["period"]["year"] = external_id, year
    content["submitted"] = f"{year + 1}-03-01"
    for key, value in changes.items():
        content[key] = value
    return declaration_submit(declarant=person, payload=content).declaration


@pytest.fixture
def world(payload: dict[str, Any]) -> dict[str, Declaration]:
    """Three declarants: unexplained wealth (DECL-WEALTH, weight 5), a house without land (DECL-ARITHMETIC,
    weight 1), and a clean one; plus the wealthy one's previous year."""
    rich = Person.objects.create(name="Rich")
    before = _declare(payload, rich, "rich-2022", 2022)
    cash = copy.deepcopy(payload["cash_and_accounts"])
    cash[0]["amount"]["amount"] = "900000"
    after = _declare(payload, rich, "rich-2023", 2023, cash_and_accounts=cash)
    sloppy = Person.objects.create(name="Sloppy")
    estate = copy.deepcopy(payload["real_estate"])
    estate[0]["kind"] = "house"  # a share over 100 % is refused at submission now
    odd = _declare(payload, sloppy, "sloppy-2023", 2023, real_estate=estate)
    clean = _declare(payload, Person.objects.create(name="Clean"), "clean-2023", 2023)
    for code in ("DECL-WEALTH", "DECL-ARITHMETIC"):
        detector_run(code=code)
    return {"before": before, "after": after, "odd": odd, "clean": clean}


@pytest.fixture
def admin(make_user: Callable[..., User]) -> User:
    """The administrator who selects, draws and assigns (the audit log names them ``admin``)."""
    return make_user("administrator", username="admin")


# --- the risk queue ------------------------------------------------------------------------------------


def test_queue_ranks_by_the_sum_of_weighted_flags(world: dict[str, Declaration]) -> None:
    rows = selectors.risk_queue(criteria={"year": 2023})
    assert [r.declaration for r in rows][:2] == [world["after"], world["odd"]]
    assert rows[0].score == 5.0 and rows[1].score == 1.0
    assert {r.declaration for r in rows} == {world["after"], world["odd"], world["clean"]}
    assert selectors.risk_queue(criteria={"year": 2022})[0].declaration == world["before"]


def test_select_by_risk_opens_cases_once_for_the_highest_ranked(world: dict[str, Declaration], admin: User) -> None:
    first = verification.select_by_risk(actor=admin, top=1)
    assert [c.declaration for c in first.created] == [world["after"]]
    assert first.created[0].reason == VerificationCase.Reason.RISK and first.created[0].risk_score == 5.0
    second = verification.select_by_risk(actor=admin, top=5)  # the next ones; never the clean one (score 0)
    assert [c.declaration for c in second.created] == [world["odd"]]
    assert verification.select_by_risk(actor=admin, min_score=1).created == []
    assert VerificationCase.objects.count() == 2
    entry = AuditEntry.objects.filter(details__event="verification_selected_by_risk").first()
    assert entry is not None and entry.actor == "admin"
    assert entry.details["selected"] == [{"declaration": world["after"].pk, "score": 5.0}]


def test_select_by_min_score_and_bad_requests(world: dict[str, Declaration], admin: User) -> None:
    result = verification.select_by_risk(actor=admin, min_score=2)
    assert [c.declaration for c in result.created] == [world["after"]]
    with pytest.raises(ValueError, match="top"):
        verification.select_by_risk(actor=admin)
    with pytest.raises(ValueError, match="unknown declaration type"):
        verification.select_by_risk(actor=admin, top=1, criteria={"declaration_type": "yearly"})


def test_a_dismissed_flag_no_longer_counts(world: dict[str, Declaration], admin: User) -> None:
    flag = Finding.objects.get(detector_code="DECL-WEALTH", subject_id=str(world["after"].pk), outcome="flag")
    from probity.core.services import finding_triage

    finding_triage(finding=flag, decision="dismissed", reason="inheritance documented", actor=admin)
    assert selectors.risk_queue(criteria={"year": 2023})[0].declaration == world["odd"]


# --- the verifiable random sample ----------------------------------------------------------------------


def independent_redraw(seed: str, population: list[int], size: int) -> tuple[str, list[int]]:
    """The documented algorithm, written again from the documentation only."""
    ids = sorted(population)
    digest = hashlib.sha256("\n".join(map(str, ids)).encode()).hexdigest()
    ranked = sorted(ids, key=lambda i: (hmac.new(seed.encode(), str(i).encode(), hashlib.sha256).hexdigest(), i))
    return digest, ranked[:size]


def _many(payload: dict[str, Any], count: int, year: int = 2023) -> list[int]:
    ids = []
    for n in range(count):
        ids.append(_declare(payload, Person.objects.create(name=f"P{n}"), f"many-{year}-{n}", year).pk)
    return ids


def test_the_sample_is_reproducible_by_anyone_from_the_recorded_seed(payload: dict[str, Any], admin: User) -> None:
    ids = _many(payload, 12)
    _many(payload, 3, year=2021)  # outside the criteria
    result = verification.draw_sample(size=4, seed=SEED, criteria={"year": 2023}, actor=admin)
    sample = result.sample
    digest, selected = independent_redraw(SEED, ids, 4)
    assert sample.population_size == 12 and sample.population_hash == digest
    assert sample.selected == selected and sample.algorithm == sampling.ALGORITHM
    assert sorted(c.declaration_id for c in result.created) == sorted(selected)
    assert all(c.reason == VerificationCase.Reason.RANDOM and c.sample == sample for c in result.created)
    # Another seed draws another sample (the draw depends on the seed).
    assert independent_redraw("ab" * 32, ids, 4)[1] != selected

    check = selectors.redraw(sample=sample)
    assert check.ok and check.population == sorted(ids) and check.selected == selected


def test_the_audit_log_holds_the_seed_and_the_result(payload: dict[str, Any], admin: User) -> None:
    _many(payload, 5)
    sample = verification.draw_sample(size=2, criteria={}, actor=admin).sample
    assert len(sample.seed) == 64  # drawn with secrets.token_hex(32)
    entry = AuditEntry.objects.get(details__event="sample_drawn")
    assert entry.actor == "admin" and entry.object_id == str(sample.pk)
    assert entry.details["seed"] == sample.seed
    assert entry.details["selected"] == sample.selected
    assert entry.details["population_hash"] == sample.population_hash
    assert entry.details["population_size"] == 5


def test_a_declaration_filed_after_the_draw_does_not_change_the_check(payload: dict[str, Any], admin: User) -> None:
    _many(payload, 6)
    sample = verification.draw_sample(size=3, seed=SEED, criteria={"year": 2023}, actor=admin).sample
    _declare(payload, Person.objects.create(name="Late"), "late", 2023)
    assert selectors.redraw(sample=sample).ok


def test_tampering_with_the_recorded_result_is_detected(payload: dict[str, Any], admin: User) -> None:
    ids = _many(payload, 6)
    sample = verification.draw_sample(size=3, seed=SEED, criteria={"year": 2023}, actor=admin).sample
    SampleDraw.objects.filter(pk=sample.pk).update(selected=sorted(set(ids) - set(sample.selected))[:3])
    sample.refresh_from_db()
    check = selectors.redraw(sample=sample)
    assert check.population_matches and not check.selected_matches and not check.ok
    SampleDraw.objects.filter(pk=sample.pk).update(population_hash="0" * 64)
    sample.refresh_from_db()
    assert not selectors.redraw(sample=sample).population_matches


def test_bad_sample_requests_are_refused_and_nothing_is_stored(payload: dict[str, Any], admin: User) -> None:
    _many(payload, 2)
    with pytest.raises(ValueError, match="larger than the population"):
        verification.draw_sample(size=3, criteria={}, actor=admin)
    with pytest.raises(ValueError, match="hexadecimal"):
        verification.draw_sample(size=1, seed="not hex", criteria={}, actor=admin)
    with pytest.raises(ValueError, match="at least 1"):
        verification.draw_sample(size=0, criteria={}, actor=admin)
    assert not SampleDraw.objects.exists() and not VerificationCase.objects.exists()


def test_a_selected_declaration_with_an_open_case_gets_no_second_case(payload: dict[str, Any], admin: User) -> None:
    ids = _many(payload, 3)
    for declaration_id in ids:
        VerificationCase.objects.create(declaration_id=declaration_id, reason=VerificationCase.Reason.MANUAL)
    result = verification.draw_sample(size=2, seed=SEED, criteria={}, actor=admin)
    assert result.created == [] and sorted(result.already_open) == sorted(result.sample.selected)


# --- the workflow ----------------------------------------------------------------------------------------


def test_the_workflow_moves_through_validated_steps(
    world: dict[str, Declaration], make_user: Callable[..., Any], admin: User
) -> None:
    verifier = make_user("verifier")
    case = verification.select_by_risk(actor=admin, top=1).created[0]
    with pytest.raises(ValueError, match="not an active verifier"):
        verification.case_assign(case=case, verifier=make_user("analyst"), actor=admin)
    with pytest.raises(verification.TransitionError):
        verification.case_start(case=case, actor=admin)  # not assigned yet
    case = verification.case_assign(case=case, verifier=verifier, actor=admin)
    assert case.status == "assigned" and case.verifier == verifier and case.assigned_at is not None
    flag = selectors.case_findings(case=case)[0]
    with pytest.raises(verification.TransitionError, match="start it"):
        verification.case_finding_decide(case=case, finding=flag, decision="confirmed", reason="", actor=verifier)
    with pytest.raises(verification.TransitionError):
        verification.case_record_outcome(case=case, outcome="violation", actor=verifier)
    case = verification.case_start(case=case, actor=verifier)
    assert case.status == "in_progress"

    decided = verification.case_finding_decide(
        case=case, finding=flag, decision="confirmed", reason="bank statements", actor=verifier
    )
    assert decided.triage == "confirmed"
    entry = AuditEntry.objects.get(details__event="verification_finding_decided")
    assert entry.object_id == str(case.pk) and entry.details["finding"] == flag.pk
    other = Finding.objects.filter(subject_id=str(world["odd"].pk)).first()
    assert other is not None
    with pytest.raises(ValueError, match="not about the declaration"):
        verification.case_finding_decide(case=case, finding=other, decision="confirmed", reason="", actor=verifier)
    with pytest.raises(ValueError, match="dismissal needs a reason"):
        verification.case_finding_decide(case=case, finding=flag, decision="dismissed", reason=" ", actor=verifier)

    with pytest.raises(verification.TransitionError, match="no outcome"):
        verification.case_close(case=case, actor=verifier)
    with pytest.raises(ValueError, match="referred to"):
        verification.case_record_outcome(case=case, outcome="referral", actor=verifier)
    with pytest.raises(ValueError, match="sanction"):
        verification.case_record_outcome(case=case, outcome="sanction", actor=verifier)
    case = verification.case_record_outcome(
        case=case, outcome="referral", referred_to="Public Prosecutor", notes="n", actor=verifier
    )
    assert case.status == "in_progress" and case.referred_to == "Public Prosecutor"
    case = verification.case_close(case=case, actor=verifier)
    assert case.status == "completed" and case.closed_at is not None
    with pytest.raises(verification.TransitionError):
        verification.case_assign(case=case, verifier=verifier, actor=admin)
    changes = AuditEntry.objects.filter(
        object_type="declarations.verificationcase", object_id=str(case.pk), action="update"
    ).order_by("sequence")
    statuses = [e.details["fields"]["status"]["to"] for e in changes if "status" in e.details.get("fields", {})]
    assert statuses == ["assigned", "in_progress", "completed"]
    assert changes.filter(actor=verifier.username).exists()
    # A completed case does not block a new one.
    assert verification.select_by_risk(actor=admin, top=1).created[0].declaration == world["after"]


def test_permissions_of_the_roles(world: dict[str, Declaration], make_user: Callable[..., Any]) -> None:
    admin, verifier, other = make_user("administrator"), make_user("verifier"), make_user("verifier")
    auditor, declarant = make_user("auditor"), make_user("declarant")
    case = verification.select_by_risk(actor=admin, top=1).created[0]
    assert verification.may_select(user=admin) and verification.may_draw(user=admin)
    assert not verification.may_draw(user=verifier) and not verification.may_select(user=verifier)
    assert not verification.may_draw(user=auditor) and verification.may_view(user=auditor)
    assert not verification.may_view(user=declarant)
    assert verification.may_assign(user=admin, case=case, verifier=verifier)
    assert verification.may_assign(user=verifier, case=case, verifier=verifier)  # take a free case
    assert not verification.may_assign(user=verifier, case=case, verifier=other)
    verification.case_assign(case=case, verifier=verifier, actor=admin)
    case.refresh_from_db()
    assert not verification.may_assign(user=other, case=case, verifier=other)  # someone else's case
    assert verification.may_work_on(user=verifier, case=case) and not verification.may_work_on(user=other, case=case)
    assert not verification.may_work_on(user=admin, case=case) and not verification.may_work_on(user=auditor, case=case)


# --- the side-by-side comparison -----------------------------------------------------------------------------


def test_rows_are_matched_across_years() -> None:
    old: list[dict[str, Any]] = [
        {"owner": "declarant", "kind": "car", "make_model": "Skoda", "value": 1},
        {"owner": "declarant", "kind": "boat", "description": "Yacht"},
    ]
    new: list[dict[str, Any]] = [
        {"owner": "fm-1", "kind": "car", "make_model": "Tesla"},
        {"owner": "declarant", "kind": "car", "make_model": "Skoda", "value": 2},
    ]
    rows = compare.match_rows(old, new)
    assert [r.kind for r in rows] == ["added", "changed", "removed"]
    changed = {c.key: c.kind for c in rows[1].cells}
    assert changed == {"owner": "same", "kind": "same", "make_model": "same", "value": "changed"}


# --- the CLI -------------------------------------------------------------------------------------------------


def _cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("declarations", "select", *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def test_cli_selects_by_risk_draws_and_checks_a_sample(world: dict[str, Declaration], payload: dict[str, Any]) -> None:
    code, out, _err = _cli("--risk-top", "1", "--year", "2023")
    assert code == 0 and f"declaration {world['after'].pk}, risk score 5" in out

    code, out, _err = _cli("--random", "2", "--seed", SEED, "--year", "2023", "--type", "annual")
    assert code == 0
    lines = out.splitlines()
    population = sorted(Declaration.objects.filter(year=2023).values_list("pk", flat=True))
    digest, selected = independent_redraw(SEED, population, 2)
    assert f"seed: {SEED}" in lines and f"population hash: {digest}" in lines
    assert [int(x) for x in lines[lines.index("selected:") + 1 :]] == selected
    sample = SampleDraw.objects.get()
    assert AuditEntry.objects.get(details__event="sample_drawn").actor == "system:declarations-select"

    code, out, _err = _cli("--check-sample", str(sample.pk))
    assert code == 0 and "OK: the sample draws again exactly" in out
    SampleDraw.objects.filter(pk=sample.pk).update(seed="ab" * 32)
    code, out, _err = _cli("--check-sample", str(sample.pk))
    assert code == 1 and "MISMATCH" in out

    code, _out, err = _cli("--random", "99")
    assert code == 2 and "larger than the population" in err
    code, _out, err = _cli("--check-sample", "999999")
    assert code == 2 and "no random sample" in err
    code, out, _err = _cli("--algorithm")
    assert code == 0 and "HMAC-SHA256" in out


def test_the_draw_reports_progress_over_the_whole_population() -> None:
    counted: list[int] = []
    population = list(range(1, 25_001))
    selected = sampling.draw(SEED, population, 5, progress=counted.append)
    assert sum(counted) == 25_000 and counted[:2] == [10_000, 10_000]
    assert selected == independent_redraw(SEED, population, 5)[1]
