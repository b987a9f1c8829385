"""Upload handling before any view code runs: bound the disk a single file can take, hash while receiving."""

import hashlib

from django.conf import settings
from django.core.files.uploadhandler import TemporaryFileUploadHandler


class SizeLimitedUploadHandler(TemporaryFileUploadHandler):
    """Spools large uploads to a temporary file but stops writing a file past UPLOAD_MAX_BYTES, still counting.

    A 512 MB upload then costs at most UPLOAD_MAX_BYTES of disk, and its `size` (the bytes really received) lets the
    upload service refuse it by name with the real figure. The SHA-256 is computed as the bytes arrive, so a 50 MB
    print file is not read again to find its content address.
    """

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.received = 0
        self.digest = hashlib.sha256()

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        self.digest.update(raw_data)
        if self.received <= settings.UPLOAD_MAX_BYTES:
            self.file.write(raw_data)
        elif self.received - len(raw_data) < settings.UPLOAD_MAX_BYTES:
            self.file.write(raw_data[: settings.UPLOAD_MAX_BYTES - (self.received - len(raw_data))])
        return None

    def file_complete(self, file_size):
        uploaded = super().file_complete(file_size)
        uploaded.sha256 = self.digest.hexdigest()
        return uploaded
