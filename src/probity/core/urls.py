from django.urls import path

from probity.core import job_views, views

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
    path("jobs/", job_views.jobs, name="jobs"),
    path("jobs/start/", job_views.job_start, name="job_start"),
    path("jobs/<int:pk>/", job_views.job_detail, name="job"),
    path("jobs/<int:pk>/cancel/", job_views.job_cancel_view, name="job_cancel"),
    path("jobs/<int:pk>/retry/", job_views.job_retry_view, name="job_retry"),
    path("jobs/schedules/", job_views.schedules, name="schedules"),
    path("jobs/schedules/<int:pk>/", job_views.schedule_detail, name="schedule"),
    path("jobs/schedules/<int:pk>/run/", job_views.schedule_run, name="schedule_run"),
]
