"""The OpenAPI description's extras: the bearer token scheme, and every operation
documenting the errors it can answer, with the one error shape."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension

ERROR = {
    "type": "object",
    "properties": {
        "class": {"type": "string", "example": "Client::BadRequest"},
        "message": {"type": "string"},
        "field": {"type": "string", "nullable": True},
    },
    "required": ["class", "message", "field"],
}
CODES = {
    "400": "Bad input: `field` names the field.",
    "401": "No token, or an unknown or revoked one.",
    "404": "Not found, or not one of your services.",
    "405": "Method not allowed.",
    "409": "Conflict: the address is already used, or the object is busy.",
    "429": "Too many requests for this token: see Retry-After.",
}


def add_error_responses(result, generator, request, public):
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR
    for path in result.get("paths", {}).values():
        for operation in path.values():
            responses = operation.setdefault("responses", {})
            for code, description in CODES.items():
                responses.setdefault(
                    code,
                    {
                        "description": description,
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                        },
                    },
                )
    return result


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """BearerTokenAuthentication, described as HTTP bearer auth (registered on import)."""

    target_class = "exchange_groups.api.auth.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "A token from the panel."}
