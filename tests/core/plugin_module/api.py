from django.http import HttpRequest
from ninja import Router

router = Router(tags=["plug-in"])


@router.get("/ping", response=dict[str, str], summary="The plug-in answers")
def ping(request: HttpRequest) -> dict[str, str]:
    return {"answer": "pong"}
