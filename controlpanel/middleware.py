from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation


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
