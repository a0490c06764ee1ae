"""Bearer tokens and a rate limit per token."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.throttling import SimpleRateThrottle

from ..models import ApiToken
from ..models.token import hash_token
from . import schema  # noqa: F401 (registers the OpenAPI description of the token)


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
            raise AuthenticationFailed(_("This token is unknown or has been revoked."))
        now = timezone.now()
        # Note the use at most once a minute: no write on every request.
        if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class TokenRateThrottle(SimpleRateThrottle):
    """API_RATE_LIMIT requests per token (e.g. "600/min"), counted in the shared cache
    (Redis), so that every web process counts together."""

    scope = "token"

    def get_rate(self):
        return settings.API_RATE_LIMIT

    def get_cache_key(self, request, view):
        token = request.auth
        # The hash, not the id: ids come back after a database is reset, hashes never do.
        return f"throttle:token:{token.key_hash[:32]}" if isinstance(token, ApiToken) else None
