"""Every API error has one shape: {"class": ..., "message": ..., "field": ...}, with the
status a script can act on (400 bad input, 401 no or bad token, 404 not yours or absent,
409 conflict such as a taken address, 429 too many requests, 500 for our own fault)."""

import logging

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response

from ..services import ADDRESS_TAKEN

log = logging.getLogger(__name__)

# Field names of the service functions, as the API names them.
FIELDS = {
    "local_part": "mailingListAddress",
    "domain": "mailingListAddress",
    "display_name": "displayName",
    "max_receive_size": "maxReceiveSize",
    "max_send_size": "maxSendSize",
    "join_restriction": "joinRestriction",
    "depart_restriction": "departRestriction",
    "hidden_from_gal": "hiddenFromGAL",
    "sender_authentication": "senderAuthentification",
    "email": "externalEmailAddress",
    "first_name": "firstName",
    "last_name": "lastName",
}
CONFLICTS = {ADDRESS_TAKEN, "not_operational", "not_todo", "not_error", "delegation_exclusive"}


class ServiceRefused(Exception):
    """A service function's ValidationError, with the API's name for its item field."""

    def __init__(self, error: DjangoValidationError, item_field: str | None = None):
        self.error = error
        self.item_field = item_field


def body(error_class: str, message: str, field: str | None = None) -> dict:
    return {"class": error_class, "message": message, "field": field}


def handler(exc, context):
    if isinstance(exc, ServiceRefused | DjangoValidationError):
        refused = exc if isinstance(exc, ServiceRefused) else ServiceRefused(exc)
        return _from_service(refused)
    if isinstance(exc, Http404 | exceptions.NotFound):
        return Response(
            body("Client::NotFound", str(getattr(exc, "detail", exc)) or "Not found."),
            status=status.HTTP_404_NOT_FOUND,
        )
    if isinstance(exc, exceptions.ValidationError):
        field, message = _first(exc.detail)
        return Response(body("Client::BadRequest", message, field), status=400)
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        return Response(
            body("Client::Unauthorized", str(exc.detail)),
            status=401,
            headers={"WWW-Authenticate": 'Bearer realm="api"'},
        )
    if isinstance(exc, exceptions.Throttled):
        headers = {"Retry-After": str(int(exc.wait))} if exc.wait else {}
        message = f"Too many requests: try again in {int(exc.wait or 1)} seconds."
        return Response(body("Client::TooManyRequests", message), status=429, headers=headers)
    if isinstance(exc, exceptions.APIException):
        name = type(exc).__name__
        return Response(body(f"Client::{name}", str(exc.detail)), status=exc.status_code)
    # Our own fault: logged with its traceback, answered in the API's shape, not as a page.
    log.error("API error", exc_info=exc)
    message = _("An internal error occurred; support has been told.")
    return Response(body("Server::InternalServerError", message), status=500)


def _from_service(refused: ServiceRefused) -> Response:
    error = refused.error
    errors = error.error_dict if hasattr(error, "error_dict") else {NON_FIELD_ERRORS: [error]}
    name, items = next(iter(errors.items()))
    first = items[0]
    message = " ".join(first.messages)
    field = None if name == NON_FIELD_ERRORS else FIELDS.get(name, refused.item_field or name)
    if first.code in CONFLICTS:
        error_class = (
            "Client::Conflict::AddressAlreadyUsed"
            if first.code == ADDRESS_TAKEN
            else "Client::Conflict"
        )
        return Response(body(error_class, message, field), status=409)
    return Response(body("Client::BadRequest", message, field), status=400)


def _first(detail, path=""):
    if isinstance(detail, dict):
        key, value = next(iter(detail.items()))
        name = key if key != "non_field_errors" else None
        return _first(value, name or path)
    if isinstance(detail, list) and detail:
        return _first(detail[0], path)
    return (path or None), str(detail)
