"""Property tests: whatever names and bytes an upload is given, every file is accepted or refused by name with a
storable name; the service never raises for them."""

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.text import text_problem
from designs.models import Design
from designs.services import design_batch_upload, display_name
from tests.conftest import design_image, encode, upload_file

pytestmark = pytest.mark.django_db

EDGE_CHARACTERS = ["\x00", "\ud800", "\udfff", "/", "\\", ".", "\u202e"]  # drawn often: rare among all
ANY_TEXT = st.text(st.one_of(st.characters(exclude_categories=()), st.sampled_from(EDGE_CHARACTERS)),
                   max_size=300)
PNG = encode(design_image(3, size=(200, 150)), "PNG")
# Names Django's own upload objects take (it refuses "", "." and ".." after the last slash before any view).
FILE_NAMES = ANY_TEXT.filter(lambda name: os.path.basename(name) not in ("", ".", ".."))
CONTENTS = st.one_of(st.just(PNG), st.binary(max_size=64), st.just(PNG + b"\n"), st.just(PNG[:100]))


@settings(database=None)  # no example database left in the work tree
@given(ANY_TEXT)
def test_a_display_name_is_short_plain_and_storable(raw):
    name = display_name(raw)
    assert 0 < len(name) <= 200
    assert text_problem(name) is None and "/" not in name and not any(ord(c) < 32 for c in name)


@settings(max_examples=30, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(files=st.lists(st.tuples(FILE_NAMES, CONTENTS), min_size=1, max_size=4))
def test_any_upload_is_answered_file_by_file(user, files):
    before = Design.objects.filter(owner=user).count()
    result = design_batch_upload(owner=user, files=[upload_file(name, data) for name, data in files])
    names = [item.name for item in result.accepted] + [item["name"] for item in result.rejected]
    assert len(names) == len(files)
    assert all(text_problem(name) is None for name in names)
    assert Design.objects.filter(owner=user).count() == before + len(result.accepted)
    result.batch.refresh_from_db()
    assert result.batch.rejected == result.rejected  # a new batch each time
