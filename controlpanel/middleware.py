from django.conf import settings
from django.http import HttpResponseBadRequest, JsonResponse
from django.middleware.locale import LocaleMiddleware
from django.utils import translation
from django.utils.translation import gettext as _


class ChosenLanguageMiddleware(LocaleMiddleware):
    """French unless the user chose another language with the switch in the layout (a
    cookie). The browser's Accept-Language is not followed: the product's reference
    wording is French, whatever language the browser happens to be set to. The API, used
    by scripts, follows Accept-Language (French when absent)."""

    def process_request(self, request):
        if request.path.startswith("/api/"):
            # Scripts say which language they want in Accept-Language, as HTTP intends.
            return super().process_request(request)
        language = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if language not in dict(settings.LANGUAGES):
            language = settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()


class RefuseNulBytesMiddleware:
    """No address, name or search term holds a NUL character, and PostgreSQL cannot store
    or compare text that does. A request with one in its path or its parameters is refused
    at once with a 400 (in the API's error shape under /api/), instead of failing deep in a
    query, or part-way through a streamed export."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        field = _field_with_nul(request)
        if field is None:
            return self.get_response(request)
        message = _("“%(field)s” holds a NUL character, which no field accepts.") % {"field": field}
        if request.path.startswith("/api/"):
            error = {"class": "Client::BadRequest", "message": message, "field": field}
            return JsonResponse(error, status=400)
        return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")


def _field_with_nul(request) -> str | None:
    if "\x00" in request.path:
        return "path"
    for params in (request.GET, request.POST):
        for name, values in params.lists():
            if "\x00" in name or any("\x00" in value for value in values):
                return name.replace("\x00", "")
    return None


def client_address(request) -> str | None:
    """The client's address: behind the TLS proxy (BEHIND_TLS_PROXY), the one the proxy
    appended to X-Forwarded-For (earlier entries are the client's own word); otherwise the
    peer's. Used by django-axes, so that one address's wrong passwords lock out only it."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if settings.SECURE_PROXY_SSL_HEADER and forwarded:
        return forwarded.split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR")
