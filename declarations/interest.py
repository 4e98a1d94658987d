"""Late-payment interest: a plain computation over plain values (no database, no clock).

Tax Procedures Act 2015 (Kenya) s.38(1): "A person who fails to pay a tax on or before the due date
shall be liable to a late payment interest at the rate of one percent per month or part thereof on
the amount of unpaid tax for the period the tax remains unpaid." Forodha applies it to the unpaid
tax of an e-slip past its payment due date (docs/declarations.md, "Late-payment interest"):

- the base is the unpaid TAX: the assessment total less penalties and fees (interest is not
  charged on a penalty or a fee);
- months are calendar months counted from the due date: the first month runs from the day after
  the due date to the same day one month later (a day-of-month missing in that month: its last
  day); with the `month_or_part` rule (s.38, the default) every month begun counts whole, so 1 day
  late is 1 month and 31 days late (past one calendar month) is 2; `whole_months` counts only
  completed months;
- each month is one interest line of `money(base x rate)` (half-up to the cent) and the interest
  is the sum of its lines, like every other amount (docs/declarations.md, "Rounding").

Rate and rule are settings (`LATE_PAYMENT_INTEREST_RATE`, `LATE_PAYMENT_INTEREST_RULE`).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

LEGAL_BASIS = "Tax Procedures Act 2015 s.38 (late payment interest: 1 % per month or part thereof)"
RULES = ("month_or_part", "whole_months")
CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def add_months(day: dt.date, months: int) -> dt.date:
    """`day` plus whole calendar months, clamped to the month's last day (31 Jan + 1 = 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def months_late(*, due_date: dt.date, on: dt.date, rule: str = "month_or_part") -> int:
    """Months of interest owed on `on` for a tax due on `due_date` (0 while not late)."""
    if rule not in RULES:
        raise ValueError(f"unknown late-payment interest rule {rule!r}; choose one of {', '.join(RULES)}")
    if on <= due_date:
        return 0
    # Completed months: the largest n with due + n months <= on.
    months = (on.year - due_date.year) * 12 + on.month - due_date.month
    while months > 0 and add_months(due_date, months) > on:
        months -= 1
    if rule == "month_or_part" and add_months(due_date, months) < on:
        months += 1  # a month begun counts whole
    return months


@dataclass(frozen=True)
class LateInterest:
    base: Decimal  # the unpaid tax
    due_date: dt.date | None
    as_of: dt.date
    months: int
    rate: Decimal  # per month
    per_month: Decimal  # one month's line: money(base x rate)
    amount: Decimal  # months x per_month (the sum of the lines)
    rule: str
    legal_basis: str = LEGAL_BASIS

    def lines(self) -> list[dict[str, str | int]]:
        """One line per month: month number, the day it began, its amount."""
        if self.due_date is None:
            return []
        due = self.due_date
        return [{"month": n, "from": (add_months(due, n - 1) + dt.timedelta(days=1)).isoformat(),
                 "amount": f"{self.per_month:.2f}"} for n in range(1, self.months + 1)]


def late_interest(*, base: Decimal, due_date: dt.date | None, on: dt.date, rate: Decimal,
                  rule: str = "month_or_part") -> LateInterest:
    """The interest owed on `on` (zero when nothing is due, not yet late, or the base is zero)."""
    months = months_late(due_date=due_date, on=on, rule=rule) if due_date is not None and base > 0 else 0
    per_month = (base * rate).quantize(CENT, rounding=ROUND_HALF_UP) if months else ZERO
    return LateInterest(base=base, due_date=due_date, as_of=on, months=months, rate=rate, per_month=per_month,
                        amount=per_month * months, rule=rule)
