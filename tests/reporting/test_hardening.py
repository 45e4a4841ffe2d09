"""Issue 15, section 1, items 1, 2, 3 and 6: key-password guessing, reporter lock-out, throttles and reporter
sessions that survive a restart, and no foreign ``Origin`` in any log."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from probity.core.models import AuditEntry
from probity.core.services import api_token_create
from probity.reporting import services
from probity.reporting.models import Channel
from tests.conftest import TEST_PASSWORD
from tests.reporting.conftest import Staff

pytestmark = pytest.mark.django_db

BASE = "/api/v1/reporting"
WRONG = "not my password at all"


def _post(client: Client, path: str, body: Any = None) -> Any:
    return client.post(BASE + path, json.dumps(body or {}), content_type="application/json")


def _filed(channel: Channel) -> tuple[str, str]:
    report, receipt = services.report_submit(channel=channel, answers={"what": "Kickbacks on the bridge tender"})
    return report.reference, receipt


# --- 1. key passwords ------------------------------------------------------------------------------


def _unlock_entries(user_pk: int) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(object_type="reporting.staff_key", object_id=str(user_pk)).order_by("sequence")
    )


def test_api_key_password_guessing_locks_the_handler_out_whatever_the_address(channel: Channel, handler: Staff) -> None:
    reference, _receipt = _filed(channel)
    _token, secret = api_token_create(user=handler.user, name="cli")
    before = len(_unlock_entries(handler.user.pk))
    for n in range(5):
        client = Client(REMOTE_ADDR=f"192.0.2.{n + 1}")  # a new address for every guess
        wrong = client.get(
            BASE + f"/cases/{reference}", headers={"Authorization": f"Bearer {secret}", "X-Reporting-Password": WRONG}
        )
        assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "key_locked"
    right = Client(REMOTE_ADDR="198.51.100.9").get(
        BASE + f"/cases/{reference}",
        headers={"Authorization": f"Bearer {secret}", "X-Reporting-Password": TEST_PASSWORD},
    )
    assert right.status_code == 429, right.content  # even the right password, while locked
    error = right.json()["error"]
    assert error["code"] == "key_unlock_locked"
    assert "locked until" in error["message"]
    assert error["details"]["retry_after"] > 0
    entries = _unlock_entries(handler.user.pk)[before:]
    outcomes = [entry.details["outcome"] for entry in entries]
    assert outcomes == ["wrong_password"] * 5 + ["locked"]
    text = json.dumps([entry.details for entry in entries]) + "".join(entry.object_label for entry in entries)
    for secret_text in (WRONG, TEST_PASSWORD, "192.0.2.1", "198.51.100.9"):
        assert secret_text not in text


def test_a_right_password_is_audited_and_resets_the_count(channel: Channel, handler: Staff) -> None:
    reference, _receipt = _filed(channel)
    _token, secret = api_token_create(user=handler.user, name="cli")
    headers = {"Authorization": f"Bearer {secret}"}
    for _ in range(4):
        Client().get(BASE + f"/cases/{reference}", headers={**headers, "X-Reporting-Password": WRONG})
    ok = Client().get(BASE + f"/cases/{reference}", headers={**headers, "X-Reporting-Password": TEST_PASSWORD})
    assert ok.status_code == 200
    assert _unlock_entries(handler.user.pk)[-1].details["outcome"] == "success"
    for _ in range(4):  # counting starts again
        assert (
            Client().get(BASE + f"/cases/{reference}", headers={**headers, "X-Reporting-Password": WRONG}).status_code
            == 403
        )


def test_the_key_unlock_page_locks_out_too(
    channel: Channel, handler: Staff, verified_client: Callable[..., Client]
) -> None:
    client = verified_client(user=handler.user)
    for _ in range(5):
        response = client.post(reverse("reporting:keys"), {"action": "unlock", "password": WRONG})
        assert response.status_code == 400
    response = client.post(reverse("reporting:keys"), {"action": "unlock", "password": TEST_PASSWORD})
    assert response.status_code == 429
    assert "locked until" in response.content.decode()
    assert [e.details["via"] for e in _unlock_entries(handler.user.pk)[-6:]] == ["page"] * 6


def test_concurrent_key_derivations_are_bounded(
    channel: Channel, handler: Staff, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference, _receipt = _filed(channel)
    _token, secret = api_token_create(user=handler.user, name="cli")
    slots = threading.BoundedSemaphore(1)
    monkeypatch.setattr(services, "KDF_SLOTS", slots, raising=False)
    monkeypatch.setattr(services, "KDF_WAIT_SECONDS", 0.05, raising=False)
    assert slots.acquire(blocking=False)  # another request is deriving right now
    try:
        busy = Client().get(
            BASE + f"/cases/{reference}",
            headers={"Authorization": f"Bearer {secret}", "X-Reporting-Password": TEST_PASSWORD},
        )
    finally:
        slots.release()
    assert busy.status_code == 503, busy.content
    assert busy.json()["error"]["code"] == "busy"
    assert "busy" in busy.json()["error"]["message"]
    assert busy["Retry-After"]
    again = Client().get(
        BASE + f"/cases/{reference}",
        headers={"Authorization": f"Bearer {secret}", "X-Reporting-Password": TEST_PASSWORD},
    )
    assert again.status_code == 200  # a busy server is no wrong password


# --- 2. receipts: the attacker slows himself, never the reporter ---------------------------------


def _sign_in_solving(receipt: str, client: str) -> services.ReporterSession:
    """What the reporter's browser does: try, and when asked, solve the proof of work and try again."""
    try:
        return services.reporter_sign_in(receipt=receipt, client=client)
    except services.Throttled as exc:
        challenge = exc.challenge
        assert challenge is not None, "a throttled reporter is offered a way in"
        solution = services.pow_solve(token=challenge["token"], bits=challenge["bits"])
        return services.reporter_sign_in(
            receipt=receipt, client=client, challenge=challenge["token"], solution=solution
        )


def test_many_addresses_guessing_never_keep_the_right_receipt_out(
    channel: Channel, monkeypatch: pytest.MonkeyPatch
) -> None:
    _reference, receipt = _filed(channel)
    monkeypatch.setattr(services, "SIGN_IN_GLOBAL_FAILURES", 3)
    for n in range(40):
        with pytest.raises((LookupError, services.Throttled)):
            services.reporter_sign_in(receipt=f"{n:016d}", client=f"198.51.100.{n}")
    assert _sign_in_solving(receipt, "203.0.113.50").report is not None


def test_one_address_pays_more_work_with_every_failure(channel: Channel) -> None:
    _reference, receipt = _filed(channel)
    client = "192.0.2.7"
    bits = []
    for n in range(8):
        try:
            services.reporter_sign_in(receipt=f"{n:016d}", client=client)
        except LookupError:
            continue
        except services.Throttled as exc:
            assert exc.challenge is not None
            bits.append(exc.challenge["bits"])
            solution = services.pow_solve(token=exc.challenge["token"], bits=exc.challenge["bits"])
            with pytest.raises(LookupError):  # a solved wrong guess is still wrong, and counted
                services.reporter_sign_in(
                    receipt=f"{n:016d}", client=client, challenge=exc.challenge["token"], solution=solution
                )
    assert bits == sorted(bits) and bits[-1] > bits[0]
    # the right receipt from the same address still gets in, paying the proof of work
    assert _sign_in_solving(receipt, client).report is not None


def test_a_challenge_is_used_once_and_must_be_solved_at_the_asked_difficulty(channel: Channel) -> None:
    _reference, receipt = _filed(channel)
    for n in range(5):
        with pytest.raises(LookupError):
            services.reporter_sign_in(receipt=f"{n:016d}", client="192.0.2.8")
    with pytest.raises(services.Throttled) as caught:
        services.reporter_sign_in(receipt=receipt, client="192.0.2.8")
    challenge = caught.value.challenge
    assert challenge is not None
    # a wrong answer: with the tests' easy work a fixed guess would solve it one time in 2**bits
    wrong = next(
        guess
        for guess in (f"x{n}" for n in range(1000))
        if not services._challenge_solved(challenge["token"], guess, challenge["bits"])
    )
    with pytest.raises(services.Throttled):  # unsolved
        services.reporter_sign_in(receipt=receipt, client="192.0.2.8", challenge=challenge["token"], solution=wrong)
    easy = services.intake_challenge_new(bits=1)
    with pytest.raises(services.Throttled):  # a report form's easy challenge does not count here
        services.reporter_sign_in(
            receipt=receipt,
            client="192.0.2.8",
            challenge=easy["token"],
            solution=services.pow_solve(token=easy["token"], bits=1),
        )
    solution = services.pow_solve(token=challenge["token"], bits=challenge["bits"])
    assert services.reporter_sign_in(
        receipt=receipt, client="192.0.2.8", challenge=challenge["token"], solution=solution
    )
    with pytest.raises(services.Throttled):  # one use only
        services.reporter_sign_in(receipt=receipt, client="192.0.2.8", challenge=challenge["token"], solution=solution)


def test_the_receipt_page_offers_the_proof_of_work_and_accepts_it(channel: Channel) -> None:
    _reference, receipt = _filed(channel)
    client = Client(REMOTE_ADDR="192.0.2.44")
    for n in range(5):
        client.post(reverse("reporting:receipt"), {"receipt": f"{n:016d}"})
    page = client.post(reverse("reporting:receipt"), {"receipt": receipt})
    assert page.status_code == 429
    html = page.content.decode()
    assert "Too many attempts" in html
    import re

    ticket = re.search(r'name="ticket" value="([^"]+)"', html)
    bits = re.search(r'data-bits="(\d+)"', html)
    assert ticket and bits
    solution = services.pow_solve(token=ticket.group(1), bits=int(bits.group(1)))
    signed_in = client.post(
        reverse("reporting:receipt"), {"receipt": receipt, "ticket": ticket.group(1), "pow_nonce": solution}
    )
    assert signed_in.status_code == 302


def test_the_report_form_hands_out_challenges_within_a_limit_per_address(
    channel: Channel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "CHALLENGE_CLIENT_LIMIT", 2)
    client = Client(REMOTE_ADDR="192.0.2.60")
    url = reverse("reporting:report", args=[channel.slug])
    statuses = [client.post(url, {"step": "1", "q_what": "x"}).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert Client(REMOTE_ADDR="192.0.2.61").post(url, {"step": "1", "q_what": "x"}).status_code == 200


def test_challenges_are_signed_and_stored_nowhere(channel: Channel) -> None:
    from django.apps import apps

    models = list(apps.get_app_config("reporting").get_models())
    counts = {model.__name__: model._default_manager.count() for model in models}
    challenges = [services.intake_challenge_new() for _ in range(50)]
    assert {model.__name__: model._default_manager.count() for model in models} == counts
    cache.clear()  # nothing was kept in the cache either: the challenge is its own proof
    token = challenges[0]["token"]
    services.intake_guard(
        client="203.0.113.1", challenge=token, solution=services.pow_solve(token=token, bits=challenges[0]["bits"])
    )
    with pytest.raises(ValueError, match="expired"):  # a forged or altered token
        services.intake_guard(client="203.0.113.1", challenge=token[:-2] + "xx", solution="0")


# --- 3. a shared, persistent store ----------------------------------------------------------------


def _restart() -> None:
    """What a restart or another worker sees: no process memory, only the shared store."""
    from django.core.cache import caches

    for alias in caches:
        caches[alias].clear()


def test_a_receipt_throttle_survives_a_restart(channel: Channel) -> None:
    _reference, receipt = _filed(channel)
    for n in range(5):
        with pytest.raises(LookupError):
            services.reporter_sign_in(receipt=f"{n:016d}", client="192.0.2.90")
    _restart()
    with pytest.raises(services.Throttled):
        services.reporter_sign_in(receipt=receipt, client="192.0.2.90")


def test_a_key_lock_out_survives_a_restart(channel: Channel, handler: Staff) -> None:
    for _ in range(5):
        with pytest.raises(services.DecryptionError):
            services.staff_keys_unlock(user=handler.user, password=WRONG)
    _restart()
    with pytest.raises(services.KeyUnlockLocked) as caught:
        services.staff_keys_unlock(user=handler.user, password=TEST_PASSWORD)
    assert caught.value.until > timezone.now()


def test_a_reporter_session_survives_a_restart_and_keeps_no_link_to_the_report(channel: Channel) -> None:
    reference, receipt = _filed(channel)
    session = services.reporter_sign_in(receipt=receipt, client="192.0.2.91")
    token = services.reporter_session_open(session=session)
    _restart()
    resumed = services.reporter_session_resume(token=token)
    assert resumed is not None and resumed.report.reference == reference
    from probity.reporting.models import ReporterSessionState

    row = ReporterSessionState.objects.get()
    assert token.partition(".")[0] not in str(row.__dict__)  # only a keyed hash of the session id
    assert str(resumed.report.pk) not in [str(v) for k, v in row.__dict__.items() if k not in {"id", "_state"}]
    services.reporter_session_close(token=token)
    assert ReporterSessionState.objects.count() == 0


def test_the_prune_job_removes_what_has_expired(channel: Channel) -> None:
    from probity.reporting.jobs import SCHEDULES
    from probity.reporting.models import ReporterSessionState, ReportingThrottle

    for n in range(3):
        with pytest.raises(LookupError):
            services.reporter_sign_in(receipt=f"{n:016d}", client="192.0.2.92")
    session = services.reporter_sign_in(receipt=_filed(channel)[1], client="192.0.2.93")
    services.reporter_session_open(session=session)
    assert ReportingThrottle.objects.exists() and ReporterSessionState.objects.exists()
    assert services.reporting_state_prune() == {"throttles": 0, "sessions": 0, "challenges": 0}
    later = timezone.now() + timedelta(days=3)
    result = services.reporting_state_prune(now=later)
    assert result["throttles"] >= 1 and result["sessions"] == 1
    assert not ReportingThrottle.objects.exists() and not ReporterSessionState.objects.exists()
    assert "reporting.prune" in {schedule.kind for schedule in SCHEDULES}


# --- 6. where the reporter came from reaches no log ------------------------------------------------


def test_a_foreign_origin_reaches_no_log(channel: Channel, caplog: pytest.LogCaptureFixture) -> None:
    client = Client(enforce_csrf_checks=True, HTTP_ORIGIN="https://intranet.example", REMOTE_ADDR="192.0.2.94")
    with caplog.at_level(logging.DEBUG):
        response = client.post(reverse("reporting:receipt"), {"receipt": "0000 0000 0000 0000"})
        secure = client.post(
            reverse("reporting:receipt"),
            {"receipt": "0000 0000 0000 0000"},
            secure=True,
            HTTP_REFERER="https://intranet.example/page",
        )
    assert response.status_code == 403 and secure.status_code == 403  # still refused
    csrf = [r for r in caplog.records if r.name.startswith("django.security")]
    assert csrf, "the refusal is still logged"
    for record in caplog.records:
        assert "intranet.example" not in record.getMessage()
        assert "intranet.example" not in repr(getattr(getattr(record, "request", None), "META", ""))


# --- 2b. a flood of submissions makes everyone pay more; it never closes the channel ----------------


def test_a_flood_of_reports_raises_the_price_but_never_turns_a_reporter_away(channel: Channel) -> None:
    from probity.reporting.models import ReportingThrottle

    early = services.intake_challenge_new(client="192.0.2.200")  # issued before the surge
    for _ in range(services.SUBMIT_GLOBAL_LIMIT):
        services._hit("submit-all", "all", services.SUBMIT_GLOBAL_WINDOW)
    assert ReportingThrottle.objects.filter(kind="submit-all").get().count == services.SUBMIT_GLOBAL_LIMIT

    # The cheap challenge from before the surge is not enough any more: a dearer one comes back, not a refusal.
    with pytest.raises(services.Throttled) as raised:
        services.intake_guard(
            client="192.0.2.200",
            challenge=early["token"],
            solution=services.pow_solve(token=early["token"], bits=early["bits"]),
        )
    dearer = raised.value.challenge
    assert dearer is not None and dearer["bits"] == early["bits"] + 1 and dearer["wait"] > early["wait"]

    # A reporter who pays the new price gets through, and so does a fresh one from another address.
    services.intake_guard(
        client="192.0.2.200",
        challenge=dearer["token"],
        solution=services.pow_solve(token=dearer["token"], bits=dearer["bits"]),
    )
    fresh = services.intake_challenge_new(client="198.51.100.77")
    assert fresh["bits"] == early["bits"] + 1
    services.intake_guard(
        client="198.51.100.77",
        challenge=fresh["token"],
        solution=services.pow_solve(token=fresh["token"], bits=fresh["bits"]),
    )
    # Many more limits' worth: the price keeps growing, within its cap.
    for _ in range(services.SUBMIT_GLOBAL_LIMIT * 10):
        services._hit("submit-all", "all", services.SUBMIT_GLOBAL_WINDOW)
    assert services.intake_challenge_new()["bits"] == early["bits"] + services.SIGN_IN_POW_MAX_EXTRA_BITS


def test_the_report_form_takes_reports_during_a_flood(channel: Channel) -> None:
    import re

    for _ in range(services.SUBMIT_GLOBAL_LIMIT):
        services._hit("submit-all", "all", services.SUBMIT_GLOBAL_WINDOW)
    client = Client(REMOTE_ADDR="192.0.2.201")
    url = reverse("reporting:report", args=[channel.slug])
    step_two = client.post(url, {"step": "1", "q_what": "Kickbacks on the bridge tender"})
    assert step_two.status_code == 200
    html = step_two.content.decode()
    ticket = re.search(r'name="ticket" value="([^"]+)"', html)
    assert ticket is not None
    bits = services._pow_bits() + 1
    assert f"{services.CHALLENGE_MIN_WAIT * 2} seconds" in html  # without JavaScript: a longer wait
    sent = client.post(
        url,
        {
            "step": "2",
            "ticket": ticket.group(1),
            "action": "submit",
            "q_what": "Kickbacks on the bridge tender",
            "pow_nonce": services.pow_solve(token=ticket.group(1), bits=bits),
        },
    )
    assert sent.status_code == 200 and 'data-testid="receipt"' in sent.content.decode()
