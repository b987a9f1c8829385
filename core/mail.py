"""Mail backend for the embedded default: print to the console and keep a copy under var/mail."""

from pathlib import Path

from django.conf import settings
from django.core.mail.backends.console import EmailBackend as ConsoleBackend
from django.core.mail.backends.filebased import EmailBackend as FileBackend


class ConsoleAndFileBackend(ConsoleBackend):
    def send_messages(self, email_messages):
        sent = super().send_messages(email_messages)
        path = Path(settings.EMAIL_FILE_PATH)
        path.mkdir(parents=True, exist_ok=True)
        FileBackend(file_path=str(path), fail_silently=self.fail_silently).send_messages(email_messages)
        return sent
