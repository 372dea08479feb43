"""Working-day calendar for sharing deadlines (工作日), with Chinese public holidays and
make-up workdays (调休).

The national schedule comes from the ``chinesecalendar`` package (State Council
notices, 2004 up to the latest published year). A province can add its own overrides
(an extra holiday, a make-up workday, or next year's schedule before the package has
it). Outside the package's years, weekends are rest days and only overrides apply;
``WorkCalendar.covers`` tells whether a date is backed by an official schedule.

>>> cal = WorkCalendar()
>>> cal.is_workday(dt.date(2026, 10, 1))   # National Day
False
>>> cal.is_workday(dt.date(2026, 10, 10))  # a Saturday made a workday (调休)
True
>>> cal.add_working_days(dt.date(2026, 9, 30), 1)
datetime.date(2026, 10, 8)
>>> WorkCalendar({dt.date(2026, 12, 1): False}).is_workday(dt.date(2026, 12, 1))
False
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import chinese_calendar


class WorkCalendar:
    """Working days = the official schedule, corrected by ``overrides`` (date → is_workday)."""

    def __init__(self, overrides: Mapping[dt.date, bool] | None = None) -> None:
        self.overrides = dict(overrides or {})

    def covers(self, day: dt.date) -> bool:
        """Whether the official schedule for ``day``'s year is known (or overridden)."""
        if day in self.overrides:
            return True
        try:
            chinese_calendar.is_workday(day)
        except NotImplementedError:
            return False
        return True

    def is_workday(self, day: dt.date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            return day.weekday() < 5

    def add_working_days(self, start: dt.date, days: int) -> dt.date:
        """The date ``days`` working days after ``start`` (``start`` itself not counted)."""
        if days < 0:
            raise ValueError("days must be >= 0")
        current = start
        remaining = days
        while remaining:
            current += dt.timedelta(days=1)
            if self.is_workday(current):
                remaining -= 1
        return current

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days in (start, end] — how many working days have passed since ``start``."""
        count, current = 0, start
        while current < end:
            current += dt.timedelta(days=1)
            if self.is_workday(current):
                count += 1
        return count
