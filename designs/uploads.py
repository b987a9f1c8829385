"""Upload handling before any view code runs: bound the disk a single file can take."""

from django.conf import settings
from django.core.files.uploadhandler import TemporaryFileUploadHandler


class SizeLimitedUploadHandler(TemporaryFileUploadHandler):
    """Spools large uploads to a temporary file but stops writing a file past UPLOAD_MAX_BYTES, still counting.

    A 512 MB upload then costs at most UPLOAD_MAX_BYTES of disk, and its `size` (the bytes really received) lets the
    upload service refuse it by name with the real figure.
    """

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received <= settings.UPLOAD_MAX_BYTES:
            self.file.write(raw_data)
        elif self.received - len(raw_data) < settings.UPLOAD_MAX_BYTES:
            self.file.write(raw_data[: settings.UPLOAD_MAX_BYTES - (self.received - len(raw_data))])
        return None
