"""URLs of the reporting channel: public reporter pages first, then the staff pages under ``cases/``."""

from django.urls import path

from probity.reporting import views

app_name = "reporting"

urlpatterns = [
    # Reporters: no account.
    path("", views.index, name="index"),
    path("report/<slug:slug>/", views.report, name="report"),
    path("receipt/", views.receipt_sign_in, name="receipt"),
    path("my-report/", views.reporter_case, name="reporter_case"),
    path("my-report/message/", views.reporter_message, name="reporter_message"),
    path("my-report/identity/", views.reporter_identity, name="reporter_identity"),
    path("my-report/transcript/", views.reporter_transcript, name="reporter_transcript"),
    path("my-report/sign-out/", views.reporter_sign_out, name="reporter_sign_out"),
    # Staff.
    path("cases/", views.inbox, name="inbox"),
    path("cases/<str:reference>/", views.case, name="case"),
    path("cases/<str:reference>/files/<int:pk>/", views.attachment, name="attachment"),
    path("cases/<str:reference>/<slug:action>/", views.case_action, name="case_action"),
    path("intake/", views.intake, name="intake"),
    path("disclosures/", views.disclosures, name="disclosures"),
    path("disclosures/<int:pk>/", views.disclosure_decide, name="disclosure_decide"),
    path("statistics/", views.statistics, name="statistics"),
    path("channels/", views.channels, name="channels"),
    path("channels/new/", views.channel_edit, name="channel_new"),
    path("channels/<slug:slug>/", views.channel_edit, name="channel_edit"),
    path("keys/", views.keys, name="keys"),
    path("keys/recover/", views.key_recover, name="key_recover"),
]
