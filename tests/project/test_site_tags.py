"""The cheaper dates write what the |date filter writes."""

import datetime
import itertools
import zoneinfo

from django.template import Context, Template
from django.utils import dateformat, timezone

from project import dates

# Every specifier compiled, the formats the templates and the admin use, an escaped letter, and one with a
# specifier that is not compiled ("D": the day's name), which goes to Django whole.
FORMATS = ["M j, Y H:i", "M j, H:i", "N j, Y, P", r"\a\t G:i:s", "d/m/Y n f", "D, j M Y"]


def test_compiled_formats_write_what_dateformat_writes():
    days = [datetime.datetime(2026, month, month * 2, hour, minute, 7)
            for month, hour, minute in itertools.product(range(1, 13), range(24), (0, 1, 30, 59))]
    days += [datetime.datetime(1999, 2, 28, 0, 0, tzinfo=zoneinfo.ZoneInfo("Europe/Paris"))]
    for day, format_string in itertools.product(days, FORMATS):
        assert dates.format_datetime(day, format_string) == dateformat.format(day, format_string), (day, format_string)
    assert dates._compiled("D, j M Y") is None  # falls back: not silently dropped


def test_the_format_date_filter_is_the_date_filter_in_the_current_time_zone():
    moments = [datetime.datetime(2026, 3, 29, hour, 30, tzinfo=datetime.UTC) for hour in range(24)]  # DST day
    template = Template('{% load site_tags %}{% for moment in moments %}{{ moment|format_date:"M j, Y H:i P" }}|'
                        '{{ moment|date:"M j, Y H:i P" }}|{{ moment|format_date:"DATETIME_FORMAT" }}|'
                        '{{ moment|date:"DATETIME_FORMAT" }}|{{ moment|format_date }}|{{ moment|date }}\n{% endfor %}'
                        '{{ none|format_date:"M j" }}{{ day|format_date:"M j, Y" }}')
    with timezone.override(zoneinfo.ZoneInfo("Europe/Paris")):
        text = template.render(Context({"moments": moments, "none": None, "day": datetime.date(2026, 1, 5)}))
    lines = text.split("\n")
    assert lines[0].startswith("Mar 29, 2026 01:30") and lines[1].startswith("Mar 29, 2026 03:30")  # summer time
    assert all(len(set(line.split("|")[:2])) == 1 and len(set(line.split("|")[2:4])) == 1
               and len(set(line.split("|")[4:])) == 1 for line in lines[:-1])  # formats by name, and the default
    assert lines[-1] == "Jan 5, 2026"  # a date through Django's own filter; None writes nothing


def test_an_orders_label_is_djangos():
    from orders.models import Order

    for status in Order.Status:
        order = Order(number=7, status=status)
        assert order.status_label == order.get_status_display()
