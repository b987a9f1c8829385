"""The CSP allows no inline style or script: no page template may carry one (mail templates are not pages)."""

import re

from tests.conftest import REPO

INLINE = re.compile(r"""\sstyle=|<style[\s>]|<script(?![^>]*\ssrc=)[^>]*>|\son[a-z]+=""", re.IGNORECASE)


def test_no_page_template_has_inline_style_or_script():
    offenders = [str(path.relative_to(REPO)) for path in (REPO / "templates").rglob("*.html")
                 if "emails" not in path.parts and INLINE.search(path.read_text())]
    assert offenders == []
