"""The static files storage: whitenoise's compressed manifest storage, with each asset's URL worked out once."""

from django.conf import settings
from whitenoise.storage import CompressedManifestStaticFilesStorage

from project.memo import ProcessMemo


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    """url() looks the name up in the manifest, then splits, joins and unquotes it on every call: ~18 us, and an
    admin page asks for ~17 assets (measured). Its answer depends on nothing but the key below, which does not
    change while a process serves, so each is kept."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._urls = ProcessMemo(1024)

    def url(self, name, force=False):
        key = (name, force, settings.DEBUG, self.base_url, self.manifest_hash)
        return self._urls.get(key, lambda: super(StaticFilesStorage, self).url(name, force))
