"""Bearer tokens, a rate limit per customer and one per address for bad tokens."""

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework.throttling import SimpleRateThrottle

from ..models import ApiToken
from ..models.token import hash_token
from . import schema  # noqa: F401 (registers the OpenAPI description of the token)

log = logging.getLogger(__name__)


class BearerTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer <token>`, a token created in the panel and not revoked."""

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != b"bearer":
            return None
        if len(parts) != 2:
            raise AuthenticationFailed(_("Use the header “Authorization: Bearer <token>”."))
        raw = parts[1].decode(errors="replace")
        token = (
            ApiToken.objects.active()
            .select_related("user")
            .filter(key_hash=hash_token(raw))
            .first()
        )
        if token is None or not token.user.is_active:
            # Guessing tokens costs the guesser: bad tokens are limited per client address.
            throttle = BadTokenThrottle()
            if not throttle.allow_request(request, None):
                raise Throttled(throttle.wait())
            raise AuthenticationFailed(_("This token is unknown or has been revoked."))
        now = timezone.now()
        # Note the use at most once a minute: no write on every request.
        if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class _SharedCountThrottle(SimpleRateThrottle):
    """Counted in the shared cache (Redis), so that every web process counts together.
    When Redis cannot be reached the API keeps serving, unlimited, rather than failing:
    the changes it accepts are kept as tasks and sent to the workers when Redis is back."""

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except Exception as exc:  # the cache client's own errors share no base class
            log.warning("API rate limit not checked, the cache is unreachable: %s", exc)
            return True


class CustomerRateThrottle(_SharedCountThrottle):
    """API_RATE_LIMIT requests (e.g. "600/min") per customer: all of a user's tokens count
    together, so more tokens do not raise the limit."""

    scope = "customer"

    def get_rate(self):
        return settings.API_RATE_LIMIT

    def get_cache_key(self, request, view):
        user = request.user
        if not isinstance(request.auth, ApiToken):
            return None
        # With the join date, not the id alone: ids come back after a database is reset.
        return f"throttle:customer:{user.pk}:{user.date_joined.timestamp()}"


class BadTokenThrottle(_SharedCountThrottle):
    """API_BAD_TOKEN_RATE_LIMIT requests with an unknown or revoked token per client
    address (the address the proxy saw, see NUM_PROXIES)."""

    scope = "bad-token"

    def get_rate(self):
        return settings.API_BAD_TOKEN_RATE_LIMIT

    def get_cache_key(self, request, view):
        return f"throttle:bad-token:{self.get_ident(request)}"
