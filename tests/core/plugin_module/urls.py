from django.http import HttpRequest, HttpResponse
from django.urls import path

app_name = "plugin_module"


def index(request: HttpRequest) -> HttpResponse:
    return HttpResponse("plug-in page")


urlpatterns = [path("", index, name="index")]
