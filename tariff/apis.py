"""Read APIs: tariff line by code, tariff search, exchange rates (API.md).

Query-parameter problems use the pointer `?<name>` (e.g. `?date`), as the declarations API does:
a JSON pointer can only address the body.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core import clock
from core.exceptions import NotFound, ValidationFailed, error
from core.openapi import answer_example, parameter_examples, problem, problem_example
from core.pagination import StandardPagination
from reference.selectors import currency_exists
from tariff.assessment import Measure, RateRule
from tariff.selectors import (
    exchange_rate_row,
    tariff_book,
    tariff_code_problem,
    tariff_line_get,
    tariff_lines_search,
)


def _dotted(code: str) -> str:
    return f"{code[:4]}.{code[4:6]}.{code[6:]}"


def parse_query(request: Request, allowed: set[str]) -> dict[str, str]:
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        raise ValidationFailed(
            errors=[error("unknown_field", f"Unknown query parameter {n!r}.", f"?{n}") for n in unknown]
        )
    return {k: str(request.query_params.get(k, "")) for k in request.query_params}


def parse_date(params: dict[str, str]) -> dt.date:
    raw = params.get("date")
    if not raw:
        return clock.today()
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed(
            errors=[error("invalid_date", "Use an ISO 8601 date, e.g. 2025-07-01.", "?date")]
        ) from None


class RateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["ad_valorem", "specific", "compound"])
    ad_valorem_rate = serializers.DecimalField(max_digits=7, decimal_places=3, allow_null=True)
    specific_amount = serializers.DecimalField(max_digits=14, decimal_places=4, allow_null=True)
    specific_currency = serializers.CharField(allow_blank=True)
    specific_unit = serializers.CharField(allow_blank=True)
    text = serializers.CharField()
    source = serializers.CharField()  # type: ignore[assignment]  # a field named "source"


class MeasureSerializer(serializers.Serializer):
    kind = serializers.CharField()
    category = serializers.CharField()
    hs_prefix = serializers.CharField(allow_blank=True)
    description = serializers.CharField()
    rate = RateSerializer(allow_null=True)


class TariffLineSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="8 digits, no dots")
    hs_code = serializers.CharField(help_text="Dotted form, e.g. 8703.22.90")
    description = serializers.CharField()
    unit = serializers.CharField(allow_blank=True)
    date = serializers.DateField(help_text="The date the rates are in force on")
    valid_from = serializers.DateField(allow_null=True)
    valid_to = serializers.DateField(allow_null=True)
    hs_subheading = serializers.CharField()
    hs_description = serializers.CharField(allow_blank=True)
    duty = RateSerializer(allow_null=True, help_text="CET rule (Schedule 2 and amendments applied)")
    national_measures = MeasureSerializer(many=True)


class TariffLineSummarySerializer(serializers.Serializer):
    code = serializers.CharField()
    hs_code = serializers.CharField()
    description = serializers.CharField()
    unit = serializers.CharField(allow_blank=True)
    hs_description = serializers.CharField(allow_blank=True)
    duty = serializers.CharField(allow_null=True, help_text="The CET rule as text")


class ExchangeRateSerializer(serializers.Serializer):
    currency = serializers.CharField()
    date = serializers.DateField(help_text="The date asked for")
    rate_date = serializers.DateField(help_text="The date the rate in force was fixed")
    kes_per_unit = serializers.DecimalField(max_digits=16, decimal_places=6)


_problem = problem()


def _rate(rule: RateRule | None) -> dict[str, Any] | None:
    if rule is None:
        return None
    return {
        "kind": rule.kind,
        "ad_valorem_rate": rule.ad_valorem_rate,
        "specific_amount": rule.specific_amount,
        "specific_currency": rule.specific_currency,
        "specific_unit": rule.specific_unit,
        "text": rule.text(),
        "source": rule.label,
    }


def _measure(m: Measure) -> dict[str, Any]:
    return {
        "kind": m.kind,
        "category": m.category,
        "hs_prefix": m.hs_prefix,
        "description": m.description,
        "rate": _rate(m.rule),
    }


class TariffLineDetailApi(APIView):
    @extend_schema(
        tags=["tariff"],
        summary="Tariff line in force: description, duty rule, unit, national measures",
        operation_id="tariff_line_retrieve",
        parameters=[OpenApiParameter("date", dt.date, description="ISO date; default today (EAT)"),
                    OpenApiParameter("hs_code", str, OpenApiParameter.PATH, examples=parameter_examples({
                        "spare parts": "8708.99.00", "not a tariff line": "8708.99.99", "malformed": "87"}))],
        responses={
            200: OpenApiResponse(TariffLineSerializer, examples=[answer_example(
                "spare parts", 200, {"code": "87089900", "hs_code": "8708.99.00", "unit": "kg"})]),
            400: problem(problem_example("malformed", 400, "hs_code_invalid",
                                         "An HS code has 8 digits (e.g. 8703.22.90).",
                                         errors=[("hs_code_invalid", "/hs_code")])),
            404: problem(problem_example("not a tariff line", 404, "hs_code_unknown",
                                         "87089999 is not an EAC CET tariff line.",
                                         errors=[("hs_code_unknown", "/hs_code")])),
        },
    )
    def get(self, request: Request, hs_code: str) -> Response:
        params = parse_query(request, {"date"})
        on = parse_date(params)
        view = tariff_line_get(hs_code, on)
        if view is None:
            code, detail = tariff_code_problem(hs_code, on)
            exc_class = ValidationFailed if code == "hs_code_invalid" else NotFound
            raise exc_class(detail=detail, code=code, errors=[error(code, detail, "/hs_code")])
        measures = [m for m in (view.national_duty, view.excise, view.vat, view.idf, view.rdl) if m is not None]
        data = {
            "code": view.code,
            "hs_code": _dotted(view.code),
            "description": view.description,
            "unit": view.unit,
            "date": on,
            "valid_from": view.valid_from,
            "valid_to": view.valid_to,
            "hs_subheading": view.hs_subheading,
            "hs_description": view.hs_description,
            "duty": _rate(view.duty),
            "national_measures": [_measure(m) for m in measures],
        }
        return Response(TariffLineSerializer(data).data)


class TariffLineSearchApi(APIView):
    @extend_schema(
        tags=["tariff"],
        summary="Search tariff lines in force by code prefix (dots optional) or words",
        operation_id="tariff_lines_search",
        parameters=[
            OpenApiParameter("search", str, required=True, description="Code prefix (e.g. 8703.2) or words"),
            OpenApiParameter("date", dt.date, description="ISO date; default today (EAT)"),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int),
        ],
        responses={
            200: inline_serializer(
                "TariffLinePage",
                fields={
                    "count": serializers.IntegerField(),
                    "next": serializers.URLField(allow_null=True),
                    "previous": serializers.URLField(allow_null=True),
                    "results": TariffLineSummarySerializer(many=True),
                },
            ),
            400: _problem,
        },
    )
    def get(self, request: Request) -> Response:
        params = parse_query(request, {"search", "date", "page", "page_size"})
        on = parse_date(params)
        query = params.get("search", "").strip()
        if len(query) < 2:
            raise ValidationFailed(
                errors=[error("search_too_short", "Give at least 2 characters (a code prefix or words).", "?search")]
            )
        paginator = StandardPagination()
        page = paginator.paginate_queryset(tariff_lines_search(query=query, on=on), request, view=self)
        book = tariff_book(on)
        rows = []
        for line in page or []:
            entry = book.lines.get(line.code)
            rows.append(
                {
                    "code": line.code,
                    "hs_code": _dotted(line.code),
                    "description": line.description,
                    "unit": line.unit,
                    "hs_description": line.hs_subheading.description if line.hs_subheading else "",
                    "duty": entry.duty.text() if entry is not None and entry.duty is not None else None,
                }
            )
        return paginator.get_paginated_response(TariffLineSummarySerializer(rows, many=True).data)


class ExchangeRateApi(APIView):
    @extend_schema(
        tags=["tariff"],
        summary="KES exchange rate(s) in force on a date",
        operation_id="exchange_rates_retrieve",
        description=(
            "With `currency`: that currency's rate (404 `exchange_rate_missing` when none is in "
            "force). Without: every currency with a rate in force, paginated. The rate in force is "
            "the latest one fixed on or before the date, at most 45 days old."
        ),
        parameters=[
            OpenApiParameter("currency", str, description="ISO 4217 code, e.g. USD"),
            OpenApiParameter("date", dt.date, description="ISO date; default today (EAT)"),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int),
        ],
        responses={
            200: PolymorphicProxySerializer(
                component_name="ExchangeRateOrPage",
                serializers=[
                    ExchangeRateSerializer,
                    inline_serializer(
                        "ExchangeRatePage",
                        fields={
                            "count": serializers.IntegerField(),
                            "next": serializers.URLField(allow_null=True),
                            "previous": serializers.URLField(allow_null=True),
                            "results": ExchangeRateSerializer(many=True),
                        },
                    ),
                ],
                resource_type_field_name=None,
            ),
            400: _problem,
            404: _problem,
        },
    )
    def get(self, request: Request) -> Response:
        params = parse_query(request, {"currency", "date", "page", "page_size"})
        on = parse_date(params)
        currency = params.get("currency")
        if currency is not None:
            currency = currency.strip().upper()
            if not currency_exists(currency):
                raise ValidationFailed(
                    errors=[error("currency_unknown", f"{currency!r} is not an ISO 4217 currency.", "?currency")]
                )
            if currency == "KES":
                return Response(
                    ExchangeRateSerializer({"currency": "KES", "date": on, "rate_date": on, "kes_per_unit": 1}).data
                )
            row = exchange_rate_row(currency, on)
            if row is None:
                detail = f"No {currency} exchange rate in force on {on.isoformat()}."
                raise NotFound(
                    detail=detail,
                    code="exchange_rate_missing",
                    errors=[error("exchange_rate_missing", detail, "?currency")],
                )
            return Response(
                ExchangeRateSerializer(
                    {"currency": currency, "date": on, "rate_date": row.date, "kes_per_unit": row.kes_per_unit}
                ).data
            )
        book = tariff_book(on)
        paginator = StandardPagination()
        page = paginator.paginate_queryset(sorted(book.exchange_rates), request, view=self)  # type: ignore[arg-type]
        out = []
        for code in page or []:
            row = exchange_rate_row(str(code), on)
            if row is not None:
                out.append({"currency": code, "date": on, "rate_date": row.date, "kes_per_unit": row.kes_per_unit})
        return paginator.get_paginated_response(ExchangeRateSerializer(out, many=True).data)
