"""Any command as JSON (tags ``commands``): ``GET /v1/commands`` lists the types with their schemas,
``POST /v1/commands`` submits one, checked by role and tenancy like every other write. The server
sets ``channel`` (a REST caller cannot claim FIX) and checks every identifier field.

A ``DefineOffering`` carries the offering file's tables (``{"type": "DefineOffering", "offering":
{...}}``, as ``POST /v1/offerings`` takes them), decoded by the file's own schema
(`lionrock.files.offerings.OfferingDefinitionIn`): one schema for the offering at every edge, so
the core checks only what a schema cannot say."""

from __future__ import annotations

from typing import Any

import msgspec
from fastapi import APIRouter, Request
from fastapi.responses import Response

from lionrock.files.offerings import OfferingDefinitionIn, decode_offering_json
from lionrock.files.schema import field_error, json_schema_components
from lionrock.kernel.errors import Reject
from lionrock.kernel.ids import parse_identifier
from lionrock.kernel.messages import Codec, Command, command_types
from lionrock.offering.commands import DefineOffering
from lionrock.service.policy import ServiceCode

from .http import CHANNEL, Me, Svc, json_response, outcome_body, rejection_error, service_error, struct_response
from .models import SCHEMA_RULE, OutcomeOut

router = APIRouter()
_CODEC = Codec()


class _Typed(msgspec.Struct):
    """Only the ``type`` of a command body (the other fields are left to the command's decoder)."""

    type: str = ""


class _DefineOfferingIn(msgspec.Struct, forbid_unknown_fields=True, tag="DefineOffering"):
    """``DefineOffering`` as the REST edge takes it: the offering file's tables."""

    offering: msgspec.Raw


_TYPED = msgspec.json.Decoder(_Typed)
_COMMAND_TYPES = {t.__name__: t for t in command_types()}
_DEFINE_OFFERING = msgspec.json.Decoder(_DefineOfferingIn)


def _define_offering(raw: bytes) -> Command:
    """A ``DefineOffering`` body through the offering file's schema: 400 naming the field (``offering.…``)."""
    try:
        body = _DEFINE_OFFERING.decode(raw)
        return DefineOffering(offering=decode_offering_json(body.offering))
    except Reject as exc:  # the field as the body names it: offering.<table>.<key>
        r = exc.rejection
        field = "offering" if r.field in ("file", "body") else f"offering.{r.field}"
        raise service_error(400, ServiceCode.MALFORMED_REQUEST, field, r.message, r.rule) from exc
    except msgspec.ValidationError as exc:
        field, message = field_error(exc, _DefineOfferingIn, "the offering file (docs/offering.md)", root_field="body")
        raise service_error(400, ServiceCode.MALFORMED_REQUEST, field, message, SCHEMA_RULE) from exc


@router.get("/v1/commands", tags=["commands"])
def list_command_types(p: Me, service: Svc) -> dict[str, Any]:
    """Every command type the engine knows, with its JSON schema."""
    types = [t for t in command_types() if t in service.command_types]
    _, components = msgspec.json.schema_components([t for t in types if t is not DefineOffering])
    if DefineOffering in types:  # the edge takes the offering file's tables (module docstring)
        _, offering = json_schema_components([_DefineOfferingIn, OfferingDefinitionIn], ref_template="#/$defs/{name}")
        components.update(offering)
        components["DefineOffering"] = components.pop(_DefineOfferingIn.__name__)
        components["DefineOffering"]["properties"]["offering"] = {"$ref": "#/$defs/OfferingDefinitionIn"}
    return {"types": [t.__name__ for t in types], "schemas": components}


@router.post(
    "/v1/commands",
    tags=["commands"],
    responses={200: struct_response(OutcomeOut, "The command's outcome: its sequence number and events.")},
)
async def post_command(request: Request, p: Me, service: Svc) -> Response:
    """Submit any command as JSON ``{"type": "<CommandName>", ...fields}``; checked by role and tenancy."""
    raw = await request.body()
    kind = ""
    try:
        kind = _TYPED.decode(raw).type
        command = _define_offering(raw) if kind == "DefineOffering" else _CODEC.command_from_json(raw)
    except msgspec.ValidationError as exc:  # the command's own schema (DefineOffering's answers in _define_offering)
        root = _COMMAND_TYPES.get(kind)
        if root is None:
            known = "see GET /v1/commands for the command types"
            raise service_error(400, ServiceCode.MALFORMED_REQUEST, "type", f"unknown command type {kind!r}: {known}", SCHEMA_RULE) from exc
        field, message = field_error(exc, root, "the command's schema (GET /v1/commands)", root_field="body")
        raise service_error(400, ServiceCode.MALFORMED_REQUEST, field, message, SCHEMA_RULE) from exc
    except msgspec.DecodeError as exc:
        raise service_error(400, ServiceCode.MALFORMED_REQUEST, "", f"not JSON: {exc}") from exc
    try:
        command = _server_fields(command)
    except ValueError as exc:  # an identifier outside the charset (parse_identifier)
        field, _, message = str(exc).partition(": ")
        raise service_error(400, ServiceCode.MALFORMED_REQUEST, field, message) from exc
    outcome = await service.submit(p, command)
    if outcome.rejection is not None:
        raise rejection_error(outcome.rejection)
    return json_response(outcome_body(outcome))


_IDENTIFIER_FIELDS = frozenset(
    {
        "client_order_id",
        "ioi_id",
        "instrument",
        "offering_id",
        "issuer_id",
        "account",
        "participant",
        "investor",
        "applicant",
        "username",
        "underwriter_account",
        "stabilising_manager_account",
        "stock_lender_account",
        "rmb_counter",
    }
)
_IDENTIFIER_LISTS = frozenset({"applicants", "accounts", "participants"})


def _server_fields(command: Command) -> Command:
    """A command from ``POST /v1/commands`` as the server will run it: ``channel`` set by the server
    (a REST caller cannot claim FIX), and every identifier field, nested ones too, in the kernel's
    identifier charset (`parse_identifier`; empty means "not given" in many commands)."""
    _check_identifiers(msgspec.to_builtins(command), "")
    if "channel" in getattr(type(command), "__struct_fields__", ()):
        command = msgspec.structs.replace(command, channel=CHANNEL)
    return command


def _check_identifiers(value: Any, path: str) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if key in _IDENTIFIER_FIELDS and isinstance(item, str):
                parse_identifier(item, where, allow_empty=True)
            elif key in _IDENTIFIER_LISTS and isinstance(item, list):
                for i, element in enumerate(item):
                    if isinstance(element, str):
                        parse_identifier(element, f"{where}[{i}]", allow_empty=True)
            else:
                _check_identifiers(item, where)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_identifiers(item, f"{path}[{i}]")


__all__ = ["router"]
