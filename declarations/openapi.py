"""Working OpenAPI examples of the declarations API, written against the demo training world.

Every identifier below is what `manage.py sandbox seed --scenario demo --seed 42` creates (the
seed fixes ids, PINs, B/L numbers, ETags and amounts; `make run` seeds exactly this world), so a
trainee authorised as the first demo agent (`pwani-clearing`, token in
`var/demo-credentials.json`) can send every example from Swagger UI as is. Examples of one call
share a name: the request (body and parameters) and the answer documented under that name
(core.openapi). tests/core/test_openapi_examples.py sends each of them to a freshly seeded demo.

No example carries a date: the sandbox clock moves, and a date in an example would go stale.
Amounts are in KES, so no exchange rate (and no rate date) is involved.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse

from core.openapi import answer_example, parameter_examples, problem, problem_example, request_example

from .enums import Status
from .serializers import DeclarationOutSerializer

# --- the demo world (seed 42) --------------------------------------------------------------------
DEMO_AGENT = "pwani-clearing"
DEMO_IMPORTER_PIN = "P093015838Y"  # a trader of the first agent, consignee of DEMO_FREE_BL
DEMO_OTHER_FIRMS_PIN = "P093031676W"  # a trader of the second agent (kilindini-freight)
DEMO_EXAMPLE_IDF = "E26871353769"  # raised last by the demo seed for these examples (KES 250,000, 8708.99)
DEMO_FREE_BL = "SBX00420000001"  # MSC ANNA, discharged at MBA: 389 cartons of spare parts, 10,892 kg,
#                                   only declared by the draft below (a draft reserves nothing)
DEMO_DRAFT_ID = "6dfb37f1-4a8e-4051-8285-37d096271c76"  # PWN-000002, the whole of DEMO_FREE_BL
DEMO_DRAFT_ETAG = '"6dfb37f14a8e-1"'
DEMO_ASSESSED_ID = "344ffeec-9961-467d-a1e9-b4a7c17f98c1"  # GPWN-000003, assessed, not paid
DEMO_ASSESSED_ETAG = '"344ffeec9961-3"'
DEMO_ASSESSED_BL = "SBX00420000002"
DEMO_ASSESSED_ESLIP_KES = "9593501.26"
DEMO_RELEASED_ID = "8c50f852-7b61-4a2a-9083-4d028c1e043c"  # GPWN-000004, released
DEMO_RELEASED_ETAG = '"8c50f8527b61-5"'
DEMO_PAID_ID = "0a09ef01-4549-4598-8283-9d1fc8d17165"  # GPWN-000011, paid, waiting for the aircraft
DEMO_OTHER_FIRMS_ID = "8ede0f22-e6f9-4fce-8013-5493bb9e2038"  # KFA-000001, the second agent's

# The sandbox outcome letters (docs/sandbox.md): the first letter of local_reference.
OUTCOME_LETTERS = {
    "G": "green lane: released automatically once paid",
    "B": "blue lane: released automatically, post-clearance audit record",
    "Y": "yellow lane: documentary check by an officer",
    "R": "red lane: physical examination",
    "Q": "yellow lane, then queried at once (\"documents required\")",
}


def demo_im4(local_reference: str, **changes: Any) -> dict[str, Any]:
    """Ten of the 389 cartons on the demo's free B/L, in KES (no exchange rate, no date)."""
    body: dict[str, Any] = {
        "regime": "IM4",
        "cpc": "4000000",
        "office": "MBA",
        "importer_pin": DEMO_IMPORTER_PIN,
        "local_reference": local_reference,
        "bill_of_lading": DEMO_FREE_BL,
        "currency": "KES",
        "invoice_amount": "250000.00",
        "freight_amount": "0.00",
        "insurance_amount": "0.00",
        "incoterm": "CIF",
        "country_of_export": "JP",
        "idf_number": DEMO_EXAMPLE_IDF,
        "items": [{
            "hs_code": "8708.99.00",
            "description": "Spare parts for motor vehicles (brake pads, filters)",
            "origin_country": "JP",
            "packages": 10,
            "package_kind": "CT",
            "gross_weight_kg": "280.000",
            "net_weight_kg": "266.000",
            "customs_value": "250000.00",
        }],
    }
    body.update(changes)
    return body


_LODGED = {"status": "assessed", "channel": None, "regime": "IM4", "office": "MBA", "version": 1}
_ACT_AS_CARRIER = ("Sent with a carrier's token (authorise as `msc-kenya`): only clearing-agent staff "
                   "use declarations.")
_NO_TOKEN = "Sent without the Authorization header (log out of Swagger UI's Authorize dialog)."


def _validation(name: str, *errors: tuple[str, str], summary: str = "", description: str = "",
                code: str = "validation_error") -> OpenApiExample:
    return problem_example(name, 400, code, "The request has validation errors.", errors=errors,
                           summary=summary, description=description)


# --- POST /api/v1/declarations ---------------------------------------------------------------------

LODGE_REQUEST_EXAMPLES = [
    request_example("IM4", demo_im4("PWN-API-0001"), summary="IM4 home use, normal risk scoring",
                    description="Ten cartons of the demo's free B/L " + DEMO_FREE_BL + " for the first "
                    "agent's importer " + DEMO_IMPORTER_PIN + ", in KES. The risk engine scores it on "
                    "a worker (channel null in the answer, then set)."),
    *[request_example(f"{letter} outcome", demo_im4(f"{letter}PWN-API-0001"),
                      summary=f"IM4, sandbox outcome {letter}: {path}",
                      description=f"local_reference starts with {letter}: {path} (docs/sandbox.md). Lodging "
                      "answers 201 `assessed`; the worker then sets the lane.")
      for letter, path in OUTCOME_LETTERS.items()],
    request_example("X outcome", demo_im4("XPWN-API-0001"), summary="IM4, sandbox outcome X: rejected",
                    description="local_reference starts with X: rejected at validation, nothing is written."),
    request_example("draft", {**demo_im4("PWN-API-0002"), "draft": True}, summary="Save a draft",
                    description="`\"draft\": true` saves an editable draft (no entry number, nothing reserved)."),
    request_example("invalid", {
        **demo_im4("PWN-API-0003"), "office": "mba", "invoice_amount": "-1.00", "consignee": "ACME"},
        summary="Several problems, all reported at once",
        description="A lower-case office code, a negative amount and an unknown field: every problem is "
                    "reported, each with a JSON pointer; nothing is written."),
    request_example("not authorised for the trader", demo_im4("PWN-API-0004", importer_pin=DEMO_OTHER_FIRMS_PIN),
                    summary="An importer the agent does not act for",
                    description=f"{DEMO_OTHER_FIRMS_PIN} is a trader of the other demo firm; the B/L's "
                                "consignee is not that trader either."),
    request_example("no token", demo_im4("PWN-API-0005"), summary="No credentials", description=_NO_TOKEN),
    request_example("not an agent", demo_im4("PWN-API-0006"), summary="A carrier's token",
                    description=_ACT_AS_CARRIER),
]

LODGE_RESPONSES: dict[Any, Any] = {
    201: OpenApiResponse(
        DeclarationOutSerializer, description="Lodged (registered, validated, assessed; e-slip issued) or draft saved. "
                         "The examples show the fields the answer is checked on.", examples=[
        answer_example("IM4", 201, _LODGED),
        *[answer_example(f"{letter} outcome", 201, _LODGED) for letter in OUTCOME_LETTERS],
        answer_example("draft", 201, {"status": "draft", "entry_number": None, "assessment": None}),
    ]),
    400: problem(
        _validation("X outcome", ("sandbox_outcome_rejected", "/local_reference"),
                    summary="sandbox outcome X"),
        _validation("invalid", ("invalid", "/office"), ("min_value", "/invoice_amount"),
                    ("unknown_field", "/consignee"), summary="every problem at once"),
        _validation("not authorised for the trader", ("trader_not_authorised", "/importer_pin"),
                    ("bl_consignee_mismatch", "/bill_of_lading"), ("idf_importer_mismatch", "/idf_number"),
                    summary="someone else's trader"),
    ),
    401: problem(problem_example("no token", 401, "not_authenticated",
                                 "Authentication credentials were not provided.")),
    403: problem(problem_example("not an agent", 403, "not_an_agent",
                                 "Only clearing-agent staff can use declarations.")),
}


# --- /api/v1/declarations/{declaration_id} and sub-resources --------------------------------------

def declaration_id_parameter(examples: dict[str, str]) -> OpenApiParameter:
    return OpenApiParameter("declaration_id", OpenApiTypes.UUID, OpenApiParameter.PATH,
                            examples=parameter_examples(examples))


_NOT_FOUND = problem(problem_example("someone else's", 404, "declaration_not_found", "Declaration not found.",
                                     description="A declaration of the other demo firm: 404, never 403 (API.md)."))

READ_PARAMETERS = [declaration_id_parameter({"draft": DEMO_DRAFT_ID, "someone else's": DEMO_OTHER_FIRMS_ID,
                                             "no token": DEMO_DRAFT_ID})]
READ_RESPONSES: dict[Any, Any] = {
    200: OpenApiResponse(
        DeclarationOutSerializer, description="The declaration; `ETag` header for updates.", examples=[
        answer_example("draft", 200, {"id": DEMO_DRAFT_ID, "status": "draft", "entry_number": None})]),
    401: problem(problem_example("no token", 401, "not_authenticated",
                                 "Authentication credentials were not provided.", description=_NO_TOKEN)),
    404: _NOT_FOUND,
}

UPDATE_PARAMETERS = [
    declaration_id_parameter({"edit the draft": DEMO_DRAFT_ID, "request an amendment": DEMO_ASSESSED_ID,
                              "stale If-Match": DEMO_DRAFT_ID, "no If-Match": DEMO_DRAFT_ID,
                              "released": DEMO_RELEASED_ID}),
    OpenApiParameter("If-Match", str, OpenApiParameter.HEADER, required=True,
                     description="The ETag as read (GET). Missing: 428; stale: 412.",
                     examples=parameter_examples({"edit the draft": DEMO_DRAFT_ETAG,
                                                  "request an amendment": DEMO_ASSESSED_ETAG,
                                                  "stale If-Match": '"6dfb37f14a8e-0"',
                                                  "released": DEMO_RELEASED_ETAG})),
]
UPDATE_REQUEST_EXAMPLES = [
    request_example("edit the draft", {"local_reference": "PWN-000002-A"}, summary="Edit the demo draft"),
    request_example("request an amendment", {"invoice_amount": "320000.00"},
                    summary="Tax-affecting change of an assessed declaration: 202 with the pending request"),
    request_example("stale If-Match", {"local_reference": "PWN-000002-B"}, summary="An old ETag: 412"),
    request_example("no If-Match", {"local_reference": "PWN-000002-C"},
                    summary="No If-Match header: 428 (clear the If-Match field)"),
    request_example("released", {"local_reference": "GPWN-000004-A"},
                    summary="A released declaration cannot change"),
]
UPDATE_RESPONSES: dict[Any, Any] = {
    200: OpenApiResponse(
        DeclarationOutSerializer, description="Draft edited, or non-tax fields altered (new version).", examples=[
        answer_example("edit the draft", 200, {"status": "draft", "id": DEMO_DRAFT_ID})]),
    202: OpenApiResponse(
        DeclarationOutSerializer, description="Tax-affecting change: an amendment request waits for an officer.",
        examples=[
        answer_example("request an amendment", 202, {"status": "assessed", "id": DEMO_ASSESSED_ID})]),
    412: problem(problem_example("stale If-Match", 412, "precondition_failed",
                                 "The resource was changed since you read it (ETag mismatch).")),
    409: problem(problem_example("released", 409, "not_amendable", "A released declaration cannot be changed.",
                                 errors=[("not_amendable", "/status")])),
    428: problem(problem_example("no If-Match", 428, "precondition_required",
                                 "This update needs an If-Match header with the resource's ETag.")),
}

LODGE_DRAFT_PARAMETERS = [declaration_id_parameter({"lodge the draft": DEMO_DRAFT_ID,
                                                    "already lodged": DEMO_ASSESSED_ID})]
LODGE_DRAFT_RESPONSES: dict[Any, Any] = {
    201: OpenApiResponse(
        DeclarationOutSerializer, description="Lodged.", examples=[answer_example(
        "lodge the draft", 201, {"id": DEMO_DRAFT_ID, "status": "assessed", "regime": "IM4", "office": "MBA"},
        description="The draft declares the whole of " + DEMO_FREE_BL + ": after lodging the POST "
                    "/declarations examples, less remains and this answers 400 bl_quantity_exceeded.")]),
    409: problem(problem_example("already lodged", 409, "illegal_transition",
                                 "A declaration cannot go from 'assessed' to registered.",
                                 errors=[("illegal_transition", "/status")])),
}

CANCEL_PARAMETERS = [declaration_id_parameter({"cancel": DEMO_ASSESSED_ID, "released": DEMO_RELEASED_ID})]
CANCEL_REQUEST_EXAMPLES = [
    request_example("cancel", {"reason": "Wrong consignee entered; will re-lodge"}, summary="Cancel an assessed one"),
    request_example("released", {"reason": "Too late"}, summary="A released declaration cannot be cancelled"),
]
CANCEL_RESPONSES: dict[Any, Any] = {
    200: OpenApiResponse(
        DeclarationOutSerializer, description="Cancelled; the B/L quantities are free again.", examples=[
        answer_example("cancel", 200, {"id": DEMO_ASSESSED_ID, "status": "cancelled"})]),
    409: problem(problem_example("released", 409, "illegal_transition",
                                 "A released declaration cannot be cancelled (allowed from registered up to "
                                 "under control).", errors=[("illegal_transition", "/status")])),
}

PAY_PARAMETERS = [declaration_id_parameter({"pay": DEMO_ASSESSED_ID, "wrong amount": DEMO_ASSESSED_ID,
                                            "already paid": DEMO_PAID_ID})]
PAY_REQUEST_EXAMPLES = [
    request_example("pay", {"amount": DEMO_ASSESSED_ESLIP_KES, "currency": "KES", "method": "mpesa"},
                    summary="Pay the e-slip of the assessed demo declaration GPWN-000003"),
    request_example("wrong amount", {"amount": "100.00", "currency": "KES"}, summary="Not the amount due"),
    request_example("already paid", {"amount": "1.00", "currency": "KES"}, summary="Paid before"),
]
PAY_RESPONSES: dict[Any, Any] = {
    201: OpenApiResponse(
        DeclarationOutSerializer, description="Paid.", examples=[
        answer_example("pay", 201, {"id": DEMO_ASSESSED_ID, "status": "paid",
                                    "payment": {"amount": DEMO_ASSESSED_ESLIP_KES, "currency": "KES",
                                                "method": "mpesa"}})]),
    400: problem(problem_example("wrong amount", 400, "amount_mismatch", "The amount due is KES ...",
                                 errors=[("amount_mismatch", "/amount")])),
    409: problem(problem_example("already paid", 409, "already_paid", "This declaration is already paid.",
                                 errors=[("already_paid", "")])),
}

HISTORY_PARAMETERS = [declaration_id_parameter({"assessed": DEMO_ASSESSED_ID,
                                                "someone else's": DEMO_OTHER_FIRMS_ID})]
HISTORY_EXAMPLES = [answer_example("assessed", 200, {"id": DEMO_ASSESSED_ID, "status": "assessed"})]

LIST_PARAMETERS = [OpenApiParameter("status", str, enum=Status.values, examples=parameter_examples(
    {"queried": "queried", "unknown status": "lost"}))]
LIST_EXAMPLES = [answer_example("queried", 200, {"count": 1, "results": [
    {"local_reference": "QPWN-000007", "status": "queried", "channel": "yellow"}]})]
LIST_ERRORS = problem(problem_example("unknown status", 400, "validation_error",
                                      "The request has validation errors.", errors=[("invalid_choice", "?status")]))

STATUS_PARAMETERS = [OpenApiParameter("bl", str, description="Bill of lading number",
                                      examples=parameter_examples({"by B/L": DEMO_ASSESSED_BL}))]
STATUS_EXAMPLES = [answer_example("by B/L", 200, {"results": [
    {"id": DEMO_ASSESSED_ID, "status": "assessed", "bill_of_lading": DEMO_ASSESSED_BL, "regime": "IM4"}]})]
