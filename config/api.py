"""The API at ``/api/v1/``: one NinjaAPI, each app contributing a router.

Errors are JSON of one shape: ``{"detail": "...", "errors": [{"field": "email", "message": "..."}]}``.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, ValidationError
from django.db import DataError
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError
from ninja.errors import ValidationError as SchemaValidationError

from banking.api import router as bank_router
from billing.api import router as billing_router
from crm.access import MissingScope, TenantApiKey
from crm.api import router as customers_router
from finance.api import router as finance_router
from finance.exceptions import ActionNotAllowed
from obligations.api import router as obligations_router
from paylinks.api import router as paylinks_router
from payments.api import refunds_router
from receivables.api import router as receivables_router

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "detail": {"type": "string"},
        "errors": {"type": "array", "items": {
            "type": "object", "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            "required": ["field", "message"],
        }},
    },
    "required": ["detail"],
}
ERRORS = {
    "400": "The body is not JSON.",
    "401": "No valid API key (missing, unknown, revoked or expired).",
    "403": "The key lacks the scope the operation needs; the answer names it.",
    "404": "No such object in the key's tenant (another tenant's is answered alike).",
    "409": "The object's state refuses the action.",
    "413": "The body is larger than the server takes.",
    "422": "Invalid input; each error names its field.",
    "429": "Too many requests with this key this minute; Retry-After says when to try again.",
}


class DulyApi(NinjaAPI):
    """Documents the error answers every operation can give, in the one shape the handlers below use,
    so that the OpenAPI document describes every status the API sends (schemathesis checks it)."""

    def get_openapi_schema(self, **kwargs):
        schema = super().get_openapi_schema(**kwargs)
        schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
        for path, operations in schema["paths"].items():
            for method, operation in operations.items():
                # Ninja keys the statuses an operation declares as numbers; one key per status, as text.
                operation["responses"] = {str(status): answer for status, answer in operation["responses"].items()}
                statuses = ["401", "403", "422", "429"]
                if "requestBody" in operation:
                    statuses += ["400", "413"]
                if "{" in path:
                    statuses.append("404")
                    if method in ("post", "patch", "put", "delete"):
                        statuses.append("409")
                for status in statuses:
                    operation["responses"].setdefault(status, {
                        "description": ERRORS[status],
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                    })
        return schema


api = DulyApi(
    title="Duly API",
    version="1",
    urls_namespace="api-v1",
    auth=TenantApiKey(),
    docs_url="/docs",
)
api.add_router("/", customers_router)
api.add_router("/", finance_router)
api.add_router("/", paylinks_router)
api.add_router("/", refunds_router)
api.add_router("/", obligations_router)
api.add_router("/", bank_router)
api.add_router("/", receivables_router)
api.add_router("/", billing_router)


def _field_of(loc: list) -> str:
    # Pydantic locations look like ["body", "payload", "email"]; the field is what follows the payload.
    parts = [str(part) for part in loc if part not in ("body", "payload", "query", "path")]
    return ".".join(parts) or "__all__"


@api.exception_handler(SchemaValidationError)
def schema_invalid(request, exc: SchemaValidationError):
    errors = [
        {"field": _field_of(error.get("loc", [])), "message": error.get("msg", "Invalid.")} for error in exc.errors
    ]
    return api.create_response(request, {"detail": "Invalid input.", "errors": errors}, status=422)


@api.exception_handler(ValidationError)
def domain_invalid(request, exc: ValidationError):
    if hasattr(exc, "error_dict"):
        errors = [
            {"field": field, "message": message}
            for field, messages in exc.message_dict.items()
            for message in messages
        ]
    else:
        errors = [{"field": "__all__", "message": message} for message in exc.messages]
    return api.create_response(request, {"detail": "Invalid input.", "errors": errors}, status=422)


@api.exception_handler(ActionNotAllowed)
def action_refused(request, exc: ActionNotAllowed):
    # The request was well-formed; the transaction's state refuses it (posted, already cancelled…).
    return api.create_response(request, {"detail": " ".join(exc.messages)}, status=409)


@api.exception_handler(DataError)
def not_storable(request, exc: DataError):
    # A well-typed value the database cannot hold (an id beyond bigint, an amount beyond its column):
    # bad input, refused like any other rather than answered 500.
    return api.create_response(request, {"detail": "Invalid input.", "errors": [
        {"field": "__all__", "message": "A value is out of range."}]}, status=422)


@api.exception_handler(RequestDataTooBig)
def too_large(request, exc: RequestDataTooBig):
    return api.create_response(request, {"detail": (
        f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes.")}, status=413)


@api.exception_handler(Http404)
def not_found(request, exc: Http404):
    return api.create_response(request, {"detail": "Not found."}, status=404)


@api.exception_handler(MissingScope)
def scope_missing(request, exc: MissingScope):
    return api.create_response(request, {"detail": f"This API key lacks the scope “{exc.scope}”.",
                                         "scope": exc.scope}, status=403)


@api.exception_handler(AuthenticationError)
def unauthenticated(request, exc: AuthenticationError):
    return api.create_response(request, {"detail": "A valid API key is required."}, status=401)
