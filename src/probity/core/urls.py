from django.urls import path

from probity.core import views

app_name = "core"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("account/sign-in/", views.SignInView.as_view(), name="login"),
    path("account/sign-out/", views.sign_out, name="logout"),
    path("account/second-factor/", views.second_factor, name="second_factor"),
    path("account/second-factor/setup/", views.second_factor_setup, name="second_factor_setup"),
    path("account/password/", views.password_change, name="password_change"),
    path("account/tokens/", views.tokens, name="tokens"),
    path("findings/", views.findings, name="findings"),
    path("findings/<int:pk>/", views.finding_detail, name="finding"),
    path("detectors/", views.detectors, name="detectors"),
    path("bodies/", views.bodies, name="bodies"),
    path("people/", views.people, name="people"),
    path("people/<int:pk>/", views.person_detail, name="person"),
    path("organisations/", views.organisations, name="organisations"),
    path("audit/", views.audit_log, name="audit"),
]
