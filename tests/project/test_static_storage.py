"""Asset URLs kept per process are the manifest storage's URLs, and follow what they depend on."""

import json

from django.test import override_settings
from whitenoise.storage import CompressedManifestStaticFilesStorage

from project.static_storage import StaticFilesStorage


def storages(tmp_path, hashed):
    (tmp_path / "staticfiles.json").write_text(json.dumps({"paths": hashed, "version": "1.1", "hash": "abc"}))
    return StaticFilesStorage(location=tmp_path), CompressedManifestStaticFilesStorage(location=tmp_path)


def test_urls_are_the_manifest_storages_in_production_and_in_debug(tmp_path):
    kept, plain = storages(tmp_path, {"css/app.css": "css/app.0123456789ab.css", "a b.js": "a b.99.js"})
    for debug in (False, True, False):
        with override_settings(DEBUG=debug):
            for name in ("css/app.css", "a b.js", "css/app.css"):  # worked out, then kept
                assert kept.url(name) == plain.url(name)
    with override_settings(DEBUG=False):
        assert kept.url("css/app.css").endswith("/css/app.0123456789ab.css")


def test_a_new_manifest_gives_new_urls(tmp_path):
    kept, _ = storages(tmp_path, {"css/app.css": "css/app.1.css"})
    with override_settings(DEBUG=False):
        assert kept.url("css/app.css").endswith("/css/app.1.css")
        kept.hashed_files, kept.manifest_hash = {"css/app.css": "css/app.2.css"}, "def"  # as collectstatic leaves it
        assert kept.url("css/app.css").endswith("/css/app.2.css")
