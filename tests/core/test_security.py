"""Staff security: Argon2id, the mandatory second factor, lock-out, headers, CSRF, roles and object rules."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import identify_hasher
from django.contrib.auth.models import Group
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from probity.core.models import FamilyRelation, Person
from probity.core.roles import ALL_ROLES, all_role_permissions
from probity.core.rules import visible_to
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def _sign_in(client: Client, username: str, password: str = TEST_PASSWORD):  # type: ignore[no-untyped-def]
    return client.post("/account/sign-in/", {"username": username, "password": password})


def test_passwords_are_hashed_with_argon2id(make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user("analyst")
    assert identify_hasher(user.password).algorithm == "argon2"
    assert "$argon2id$" in user.password


def test_staff_user_without_a_device_is_sent_to_set_one_up(make_user, client) -> None:  # type: ignore[no-untyped-def]
    user = make_user("analyst")
    response = _sign_in(client, user.username)
    assert response.status_code == 302 and "/account/second-factor/" in response["Location"]
    assert client.get("/").status_code == 302  # the dashboard stays closed
    setup = client.get("/account/second-factor/setup/")
    assert setup.status_code == 200 and b"data:image/svg+xml;base64," in setup.content
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    response = client.post("/account/second-factor/setup/", {"code": f"{totp(device.bin_key):06d}"})
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/").status_code == 200


def test_staff_user_must_give_a_valid_code_before_any_page(make_user, client) -> None:  # type: ignore[no-untyped-def]
    user = make_user("auditor")
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    _sign_in(client, user.username)
    for path in ("/", "/findings/", "/audit/", "/admin/"):
        response = client.get(path)
        assert response.status_code == 302, path
    wrong = client.post("/account/second-factor/", {"code": "000000" if totp(device.bin_key) else "111111"})
    assert wrong.status_code == 200 and "not valid" in wrong.content.decode()
    device.refresh_from_db()
    device.throttling_failure_count = 0
    device.throttling_failure_timestamp = None
    device.save()
    right = client.post("/account/second-factor/", {"code": f"{totp(device.bin_key):06d}", "next": "/audit/"})
    assert right.status_code == 302 and right["Location"] == "/audit/"
    assert client.get("/audit/").status_code == 200


def test_declarant_needs_no_second_factor(make_user, client) -> None:  # type: ignore[no-untyped-def]
    user = make_user("declarant")
    _sign_in(client, user.username)
    assert client.get("/").status_code == 200


def test_lockout_after_five_failures_even_with_the_right_password(make_user, client) -> None:  # type: ignore[no-untyped-def]
    user = make_user("declarant")
    for _ in range(5):
        _sign_in(client, user.username, "wrong password")
    response = _sign_in(client, user.username)
    assert response.status_code == 429
    assert "Account locked" in response.content.decode()
    assert client.get("/").status_code == 302


def test_security_headers_are_sent(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/account/sign-in/", secure=True)
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "max-age=31536000" in response["Strict-Transport-Security"]
    assert response["Referrer-Policy"] == "same-origin"


def test_session_and_csrf_cookies_are_secure_and_httponly(make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user("declarant")
    client = Client()
    client.get("/account/sign-in/", secure=True)
    response = client.post("/account/sign-in/", {"username": user.username, "password": TEST_PASSWORD}, secure=True)
    session_cookie = response.cookies["sessionid"]
    assert session_cookie["secure"] and session_cookie["httponly"] and session_cookie["samesite"] == "Lax"
    assert client.cookies["csrftoken"]["secure"]


def test_post_without_csrf_token_is_refused(make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user("declarant")
    client = Client(enforce_csrf_checks=True)
    response = client.post("/account/sign-in/", {"username": user.username, "password": TEST_PASSWORD})
    assert response.status_code == 403


def test_every_role_exists_with_its_permissions() -> None:
    for role in ALL_ROLES:
        group = Group.objects.get(name=role)
        codes = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}
        assert codes == all_role_permissions()[role]


def test_auditor_is_read_only(verified_client) -> None:  # type: ignore[no-untyped-def]
    client = verified_client("auditor")
    user = client.user
    assert user.has_perm("core.view_auditentry") and user.has_perm("core.view_person")
    assert not any(user.has_perm(f"core.{a}_person") for a in ("add", "change", "delete"))
    assert not user.has_perm("core.triage_finding")


def test_declarant_sees_only_their_own_record_and_family(make_user) -> None:  # type: ignore[no-untyped-def]
    declarant = make_user("declarant")
    me = Person.objects.create(name="Official A", user=declarant)
    spouse = Person.objects.create(name="Spouse of A")
    stranger = Person.objects.create(name="Official B")
    FamilyRelation.objects.create(person=me, relative=spouse, kind="spouse")
    assert set(visible_to(declarant, Person.objects.all())) == {me, spouse}
    assert declarant.has_perm("core.view_person", me)
    assert not declarant.has_perm("core.view_person", stranger)
    assert not declarant.has_perm("core.change_person", me)
    analyst = make_user("analyst")
    assert set(visible_to(analyst, Person.objects.all())) == {me, spouse, stranger}


def test_declarant_cannot_open_another_persons_page(verified_client) -> None:  # type: ignore[no-untyped-def]
    client = verified_client("declarant")
    me = Person.objects.create(name="Official A", user=client.user)
    stranger = Person.objects.create(name="Official B")
    assert client.get(f"/people/{me.pk}/").status_code == 200
    assert client.get(f"/people/{stranger.pk}/").status_code == 404
    assert client.get("/findings/").status_code == 403


def test_stylesheet_is_served_without_debug(client) -> None:  # type: ignore[no-untyped-def]
    """make run serves with DEBUG off; the page must still get its stylesheet (WhiteNoise)."""
    from django.contrib.staticfiles import finders

    assert finders.find("probity/probity.css")
    html = client.get("/account/sign-in/").content.decode()
    assert "/static/probity/probity.css" in html


def test_administrator_can_open_the_admin_site_after_the_second_factor(verified_client) -> None:  # type: ignore[no-untyped-def]
    client = verified_client("administrator")
    for path in ("/admin/", "/admin/core/publicbody/", "/admin/core/auditentry/", "/admin/core/person/add/"):
        assert client.get(path).status_code == 200, path
    assert client.get("/admin/core/auditentry/add/").status_code == 403
