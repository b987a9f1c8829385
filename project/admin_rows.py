"""Cheaper admin list rows: the same HTML as Django's, with the per-column work done once per page, not per cell."""

import datetime
import html
import secrets
from functools import partial
from urllib.parse import quote as url_quote

from django import forms
from django.conf import settings
from django.contrib.admin import helpers
from django.contrib.admin.templatetags.admin_list import ResultList, _coerce_field_name, results
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.utils import (
    FieldIsAForeignKeyColumnName,
    _get_non_gfk_field,
    display_for_field,
    display_for_value,
    lookup_field,
    quote,
)
from django.core.exceptions import FieldDoesNotExist, ObjectDoesNotExist
from django.db import models
from django.urls import NoReverseMatch, reverse
from django.utils import dateformat, formats, numberformat, timezone
from django.utils.functional import Promise
from django.utils.html import conditional_escape
from django.utils.http import RFC3986_SUBDELIMS
from django.utils.safestring import SafeString
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from project.memo import ProcessMemo

PK_SLOT = "__row_pk__"  # stands for the pk in the one change URL reversed per page
# Stands for the change links' preserved filters in a remembered row, so one row serves every filter and page that
# lists it. Random: no value in a row can contain it.
FILTERS_SLOT = f"[filters-{secrets.token_hex(8)}]"
TEXT_TYPES = (str, SafeString)  # values display_for_value gives as they are (when not empty)


class PlainActionCheckbox:
    """A ModelAdmin mixin: each row's action checkbox written as one string.

    Django renders it through the CheckboxInput widget's template, one template render per row: 30% of the order
    list's rendering time at 50 rows (cProfile). The markup is the same, so the admin's actions script works as is.
    """

    def action_checkbox(self, obj):
        label = _("Select this object for an action - {}").format(_escaped(str(obj)))
        return SafeString(f'<input type="checkbox" name="{helpers.ACTION_CHECKBOX_NAME}" value="{_escaped(obj.pk)}"'
                          f' class="action-select" aria-label="{label}">')


class RenderOnce:
    """A widget mixin: rendered through its templates once per distinct state in a process, then reused.

    The admin's action form is the same on every page of a list, and its widgets' template renders cost ~1.5 ms a
    page for the menu's ten and ~0.3 ms for the hidden select-across field (measured on the order list). The state
    is everything the output depends on: widget class, language, name, value, attributes and choices.
    """

    _rendered = ProcessMemo(256)

    def render(self, name, value, attrs=None, renderer=None):
        choices = tuple((str(choice), str(label)) for choice, label in getattr(self, "choices", ()))
        key = (type(self), get_language(), name, repr(value), repr(attrs), repr(self.attrs), choices, renderer)
        return self._rendered.get(key, partial(super().render, name, value, attrs, renderer))


class RenderOnceSelect(RenderOnce, forms.Select):
    pass


class RenderOnceHiddenInput(RenderOnce, forms.HiddenInput):
    pass


class FastActionForm(helpers.ActionForm):
    action = forms.ChoiceField(label=_lazy("Action:"), widget=RenderOnceSelect)
    select_across = forms.BooleanField(label="", required=False, initial=0,
                                       widget=RenderOnceHiddenInput({"class": "select-across"}))


class FastListRows(PlainActionCheckbox):
    """A ModelAdmin mixin: list rows from `fast_results`, through a change list template that calls it, and the
    action form from RenderOnce widgets.

    Django's items_for_result repeats for every cell what depends only on the column (field lookup, CSS classes,
    the change URL and its preserved filters): 45% of the order list's CPU time at 50 rows (measured).
    """

    change_list_template = "admin/fast_rows_change_list.html"
    action_form = FastActionForm
    # True where every column is made from the row's own columns and annotations (no related object, no query):
    # its rows are then rendered once per process and remembered by those values (see remembered_rows).
    remember_list_rows = False


def fast_results(cl):
    """The rows of `cl` as Django's admin_list.results writes them (a test compares the two, row by row)."""
    if cl.formset or cl.is_popup or cl.to_field:  # editable lists and pop-ups: Django's own code
        yield from results(cl)
        return
    link_path, link_filters = _change_url_template(cl)
    filters_html = conditional_escape(link_filters)
    # One item per row, its cells joined: the template writes a row's items one after the other anyway, and
    # each {{ item }} costs a template variable render (~3 ms a page of 50 rows of 9 cells, measured).
    if not cl.model_admin.remember_list_rows:
        columns = _columns(cl, link_path, filters_html)
        for result in cl.result_list:
            yield ResultList(None, [SafeString("".join(column(result) for column in columns))])
        return
    columns = _columns(cl, link_path, FILTERS_SLOT)
    # Everything a row's HTML depends on besides its values (formats and URLs are fixed per process).
    plan = (type(cl.model_admin), tuple(cl.list_display), tuple(cl.list_display_links or ()), link_path,
            get_language(), timezone.get_current_timezone_name())

    def render(result):
        return "".join(column(result) for column in columns)

    for result in cl.result_list:
        values = _own_values(result)
        html = render(result) if values is None else remembered_rows.get((plan, values), partial(render, result))
        yield ResultList(None, [SafeString(html.replace(FILTERS_SLOT, filters_html))])


# Row HTML by the page's column plan and the row's own values: a row whose values change is a new key, so nothing
# is ever stale (~1 KB a row). Staff page the same recent orders all day; rendering a row of 9 cells cost ~180 us
# (measured on the order list), finding it again ~9 us.
remembered_rows = ProcessMemo(4096)


def _own_values(result):
    """The values a row was loaded with (columns and annotations), or None when its HTML may depend on more:
    related objects loaded with it, prefetched lists (unhashable), or an unhashable value."""
    if result._state.fields_cache:
        return None
    values = tuple(item for item in result.__dict__.items() if item[0] != "_state")
    try:
        hash(values)
    except TypeError:
        return None
    return values


def _columns(cl, link_path, filters_html):
    """One function per list_display column, each turning a result into its cell's HTML; the change link is
    `link_path` with the row's pk, then `filters_html`."""
    model_admin = cl.model_admin
    empty = model_admin.get_empty_value_display()
    pk_attname = cl.lookup_opts.pk.attname
    columns, first = [], True
    for index, name in enumerate(cl.list_display):
        if cl.list_display_links is None:
            link = False
        else:
            link = (first and not cl.list_display_links) or name in cl.list_display_links
        tag = "th" if link and first else "td"
        first = first and not link
        classes = [f"field-{_coerce_field_name(name, index)}"]
        field = _model_field(cl.lookup_opts, name)
        if field is not None and not field.auto_created:
            display = _field_display(field, name, empty, classes, avoid_link=link)
        else:
            display = _value_display(cl, model_admin, name, empty, classes)
        columns.append(_cell(display, tag, link_path if link else None, filters_html, pk_attname))
    return columns


def _change_url_template(cl):
    """The change URL, reversed once with PK_SLOT for the pk, split into its path and its preserved filters
    ("?_changelist_filters=...", or "")."""
    opts = cl.opts
    try:
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=(PK_SLOT,),
                      current_app=cl.model_admin.admin_site.name)
    except NoReverseMatch:
        return None, ""
    url = add_preserved_filters({"preserved_filters": cl.preserved_filters, "opts": opts}, url)
    path, mark, query = url.partition("?")
    return path, mark + query


def _model_field(opts, name):
    if callable(name):
        return None
    try:
        return _get_non_gfk_field(opts, name)
    except (FieldDoesNotExist, FieldIsAForeignKeyColumnName):
        return None


def _field_display(field, name, empty, classes, avoid_link):
    """result -> (class attribute, representation) for a model field column."""
    if isinstance(field, (models.DateField, models.TimeField, models.ForeignKey)):
        classes = classes + ["nowrap"]
    row_class = _class_attribute(classes)
    if isinstance(field.remote_field, models.ManyToOneRel):
        def display(result):
            value = getattr(result, field.name)
            return row_class, empty if value is None else value
        return display
    show = _field_formatter(field, empty, avoid_link)

    def display(result):
        return row_class, show(_blank_to_empty(getattr(result, name)))

    return display


def _field_formatter(field, empty, avoid_link):
    """value -> what display_for_field gives, with the formats it looks up per call looked up once."""
    if getattr(field, "flatchoices", None):
        try:
            labels = dict(field.flatchoices)
        except TypeError:  # list-like choices: display_for_field makes them hashable
            return lambda value: display_for_field(value, field, empty, avoid_link=avoid_link)
        return lambda value: labels.get(value, empty)
    if isinstance(field, models.BooleanField):
        return lambda value: display_for_field(value, field, empty, avoid_link=avoid_link)
    if isinstance(field, models.DateTimeField):
        date_time_format = formats.get_format("DATETIME_FORMAT")
        zone = timezone.get_current_timezone() if settings.USE_TZ else None  # looked up once, not once a row

        def format_value(value):  # timezone.template_localtime, with the zone above
            if zone is not None and not timezone.is_naive(value) and getattr(value, "convert_to_local_time", True):
                value = value.astimezone(zone)
            return dateformat.format(value, date_time_format)
    elif isinstance(field, (models.DecimalField, models.IntegerField, models.FloatField)):
        places = field.decimal_places if isinstance(field, models.DecimalField) else None
        language = get_language()
        format_value = partial(numberformat.format, decimal_sep=formats.get_format("DECIMAL_SEPARATOR", language),
                               decimal_pos=places, grouping=formats.get_format("NUMBER_GROUPING", language),
                               thousand_sep=formats.get_format("THOUSAND_SEPARATOR", language), use_l10n=True)
    elif isinstance(field, (models.CharField, models.TextField)) and not isinstance(field, models.URLField):
        def format_value(value):  # display_for_field's last case: display_for_value, which gives a str as it is
            return value if value.__class__ is str else display_for_value(value, empty)
    else:
        return lambda value: display_for_field(value, field, empty, avoid_link=avoid_link)
    empty_values = field.empty_values
    return lambda value: empty if value in empty_values else format_value(value)


def _value_display(cl, model_admin, name, empty, classes):
    """result -> (class attribute, representation) for an admin method, a callable or a model attribute."""
    if callable(name) or (hasattr(model_admin, name) and name != "__str__"):
        attr = name if callable(name) else getattr(model_admin, name)

        def value_of(result):
            return attr(result)
    else:  # model attributes, properties and lookups: Django's own lookup, per cell
        attr = lookup_field(name, cl.result_list[0], model_admin)[1] if cl.result_list else None

        def value_of(result):
            return lookup_field(name, result, model_admin)[2]
    empty = getattr(attr, "empty_value_display", empty)
    boolean = getattr(attr, "boolean", False)
    if isinstance(attr, property) and hasattr(attr, "fget"):
        boolean = getattr(attr.fget, "boolean", False)
    if name == "action_checkbox":
        classes = ["action-checkbox"]
    plain, nowrap = _class_attribute(classes), _class_attribute(classes + ["nowrap"])

    def display(result):
        try:
            value = _blank_to_empty(value_of(result))
        except ObjectDoesNotExist:
            return plain, empty
        if value.__class__ in TEXT_TYPES and value and not boolean:  # display_for_value would give it as it is
            return plain, value
        dated = isinstance(value, (datetime.date, datetime.time))
        return nowrap if dated else plain, display_for_value(value, empty, boolean)

    return display


def _cell(display, tag, link_path, filters_html, pk_attname):
    # Escaping goes character by character: the path, the pk and the filters escape apart.
    escaped_path = None if link_path is None else html.escape(link_path)

    def cell(result):
        row_class, representation = display(result)
        text = _escaped(representation)
        if escaped_path is not None:
            pk = url_quote(quote(str(getattr(result, pk_attname))), safe=RFC3986_SUBDELIMS + "/~:@")
            text = f'<a href="{escaped_path.replace(PK_SLOT, html.escape(pk))}{filters_html}">{text}</a>'
        return f"<{tag}{row_class}>{text}</{tag}>"

    return cell


def _escaped(value):
    """conditional_escape(value), without the wrapper that looks for lazy arguments on every call (~1 us a cell,
    measured with cProfile: ~650 calls a page of 50 rows)."""
    if isinstance(value, Promise):
        value = str(value)
    if hasattr(value, "__html__"):
        return value.__html__()
    return html.escape(str(value))  # what django.utils.html.escape does; the caller marks the row safe


def _class_attribute(classes):
    return f' class="{" ".join(classes)}"'


def _blank_to_empty(value):
    return "" if isinstance(value, str) and value.strip() == "" else value
