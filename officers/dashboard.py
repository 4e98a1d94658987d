"""The officers' dashboard: lanes per day, time to release per lane, backlog per status,
maintenance windows, outage and buffered submissions; charts are inline SVG."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import urlencode

from declarations.enums import Status

from . import charts
from .selectors import LANES, dashboard_figures


def declarations_url(**params: str) -> str:
    """The declarations list filtered like the chart element clicked (office-scoped as well)."""
    return f"{reverse('admin:declarations_declaration_changelist')}?{urlencode(params)}"


def dashboard_view(request: HttpRequest, *, site: Any) -> HttpResponse:
    if not request.user.has_perm("officers.view_dashboard"):
        raise PermissionDenied
    figures = dashboard_figures(user=request.user)
    days = [d.day for d in figures.days]

    def day_link(i: int, lane: str | None) -> str:
        return declarations_url(lodged_on=days[i].isoformat(), **({"channel__exact": lane} if lane else {}))

    lanes_chart = charts.stacked_bars(
        title="Declarations per lane per day (by lodging date)",
        categories=[d.day.strftime("%d %b") for d in figures.days],
        series={lane: [d.counts[lane] for d in figures.days] for lane in LANES},
        links=day_link,
    )
    release_lanes = [lane for lane in LANES if lane in figures.release_times]
    release_chart = charts.horizontal_bars(
        title="Time from lodging to release (hours), last 30 days",
        rows=[
            (f"{lane} ({stats.count})", [
                ("median", None if stats.median_seconds is None else stats.median_seconds / 3600),
                ("p90", None if stats.p90_seconds is None else stats.p90_seconds / 3600),
            ])
            for lane, stats in ((lane, figures.release_times[lane]) for lane in release_lanes)
        ],
        unit=" h",
        colours={"median": "#00897b", "p90": "#6d4c41"},
        row_links=[declarations_url(channel__exact=lane, status__in=f"{Status.RELEASED},{Status.EXITED}")
                   for lane in release_lanes],
    )
    backlog_chart = charts.horizontal_bars(
        title="Backlog per status",
        rows=[(status.replace("_", " "), [("", count)]) for status, count in figures.backlog.items()],
        colours={"": "#455a64"},
        decimals=0,
        row_links=[declarations_url(status__exact=status) for status in figures.backlog],
    )
    context = {
        **site.each_context(request),
        "title": "Dashboard",
        "figures": figures,
        "lanes_chart": lanes_chart,
        "release_chart": release_chart,
        "backlog_chart": backlog_chart,
        "total_backlog": sum(figures.backlog.values()),
    }
    return TemplateResponse(request, "officers/dashboard.html", context)
