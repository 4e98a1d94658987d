"""Chart scales: whole-number count axes, no long bar for a value that prints as 0, links."""

from __future__ import annotations

import re

from officers import charts


def widths(svg: str) -> list[float]:
    return [float(w) for w in re.findall(r'<rect x="130" y="\d+" width="([0-9.]+)"', svg)]


def test_nice_max_has_a_floor():
    assert charts._nice_max(0) == 1.0
    assert charts._nice_max(0.0003) == 1.0  # one second in hours: not a full-length bar
    assert charts._nice_max(3, floor=4.0) == 4.0
    assert charts._nice_max(7) == 10.0
    assert charts._nice_max(230) == 250.0


def test_counts_print_as_integers_and_zero_rows_draw_no_bar():
    # when
    svg = charts.horizontal_bars(title="Backlog", rows=[("paid", [("", 0)]), ("queried", [("", 0)])], decimals=0)
    # then
    assert widths(svg) == [0.0, 0.0]
    assert re.findall(r'class="value">([^<]*)</text>', svg) == ["0", "0"]
    assert ".0" not in "".join(re.findall(r'class="value">([^<]*)</text>', svg))


def test_values_that_print_as_zero_hours_draw_no_bar():
    # given: releases within seconds (automatic green lane)
    svg = charts.horizontal_bars(title="Release", rows=[("green (2)", [("median", 0.0003), ("p90", 0.0008)])],
                                 unit=" h")
    # then
    assert widths(svg) == [0.0, 0.0]
    assert re.findall(r'class="value">([^<]*)</text>', svg) == ["median 0.0 h", "p90 0.0 h"]


def test_bars_are_as_long_as_their_counts():
    svg = charts.horizontal_bars(title="Backlog", rows=[("paid", [("", 1)]), ("queried", [("", 3)])], decimals=0,
                                 row_links=["/a?status__exact=paid", None])
    plot_w = 760 - 130 - 70
    assert widths(svg) == [round(plot_w * 1 / 4, 1), round(plot_w * 3 / 4, 1)]
    assert re.findall(r'class="value">([^<]*)</text>', svg) == ["1", "3"]
    assert svg.count('<a href="/a?status__exact=paid">') == 2  # label and bar
    assert svg.count("<a ") == 2


def test_stacked_axis_is_whole_numbers_and_links_each_segment():
    # when
    svg = charts.stacked_bars(title="Lanes", categories=["24 Nov", "25 Nov"],
                              series={"green": [0, 1], "red": [0, 0]},
                              links=lambda i, lane: f"/d?day={i}" + (f"&lane={lane}" if lane else ""))
    # then
    assert re.findall(r'text-anchor="end" class="axis">([^<]*)</text>', svg) == ["0", "1", "2", "3", "4"]
    assert '<a href="/d?day=1&amp;lane=green"><rect' in svg
    assert "lane=red" not in svg  # no segment for a zero count
    assert '<a href="/d?day=0"><text' in svg
