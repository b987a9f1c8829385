"""URLs reversed once per script prefix and URLconf, then reused or filled in with a row's id.

reverse() walks the URL resolver on every call (~50-60 us on the bench VM): the site's navigation reversed 8 names
on every page, and a list page reversed one per row. The URLconf stays the one source of truth.
"""

from functools import lru_cache

from django.urls import get_script_prefix, get_urlconf, reverse

PLACEHOLDER_ID = "00000000-0000-0000-0000-000000000000"  # a valid <uuid:...> that no row has


# script_prefix is only in the cache key: reverse() reads the current one itself.
@lru_cache(maxsize=256)
def _url(script_prefix, urlconf, name):
    return reverse(name, urlconf=urlconf)


@lru_cache(maxsize=256)
def _url_around_id(script_prefix, urlconf, name):
    """The URL of `name` for one id, split around it: (before, after)."""
    before, after = reverse(name, args=[PLACEHOLDER_ID], urlconf=urlconf).split(PLACEHOLDER_ID)
    return before, after


def url_of(name):
    """reverse(name) for a URL that takes no argument."""
    return _url(get_script_prefix(), get_urlconf(), name)


def url_with_id(name, pk):
    """reverse(name, args=[pk]) for a URL that takes one UUID."""
    before, after = _url_around_id(get_script_prefix(), get_urlconf(), name)
    return f"{before}{pk}{after}"
