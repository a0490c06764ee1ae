"""Settings for the test suite: the real settings, with what tests must not depend on.

Tests run with DEBUG off (as pytest-django forces), so the production-only switches that
assume HTTPS and collected static files are turned back off here.
"""

from .settings import *  # noqa: F403

SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Hashing passwords at full strength only slows the suite down.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# The live server of the browser tests serves static files straight from the sources.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# The suite's requests all come from one address: only the test of that limit sets it low.
API_BAD_TOKEN_RATE_LIMIT = "100000/min"
# Django's test client logs in without a request, which django-axes refuses: the lockout
# is turned on by the tests that show it (tests/test_login_and_headers.py).
AXES_ENABLED = False
