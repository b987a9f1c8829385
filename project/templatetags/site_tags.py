"""Template tags for the customer pages: dates by cheaper means than |date (project/dates.py); the output is the
same."""

import datetime

from django import template
from django.template.defaultfilters import date
from django.utils import formats

from project import dates

register = template.Library()


@register.filter(expects_localtime=True, is_safe=False)
def format_date(value, format_string=None):
    """`{{ value|format_date:"M j, Y H:i" }}`: the |date filter, with the format compiled once."""
    if isinstance(value, datetime.datetime):
        return dates.format_datetime(value, formats.get_format(format_string or "DATE_FORMAT"))
    return date(value, format_string)
