"""`make test` writes nothing under the developer's var/: a run's files go to a temporary folder of its own."""

from pathlib import Path

from django.conf import settings
from django.core.management import call_command

from tests.conftest import REPO


def test_everything_a_run_writes_is_under_its_own_folder():
    own = Path(settings.VAR_DIR)
    assert own != REPO / "var" and REPO / "var" not in own.parents
    sqlite = settings.DATABASES["default"]["ENGINE"].endswith("sqlite3")  # PostgreSQL names a database, not a file
    written = [sqlite and settings.DATABASES["default"].get("TEST", {}).get("NAME"),
               settings.STORAGES["default"].get("OPTIONS", {}).get("location"),
               getattr(settings, "EMAIL_FILE_PATH", None)]
    for path in filter(None, written):
        assert own in Path(path).parents or Path(path) == own, path


def test_seed_demo_in_a_test_leaves_the_developers_demo_logins_alone(db):
    logins = REPO / "var" / "demo-logins.txt"
    before = logins.read_bytes() if logins.exists() else None
    call_command("seed_demo", users=1, designs=1, orders=0)
    assert (Path(settings.VAR_DIR) / "demo-logins.txt").exists()
    assert (logins.read_bytes() if logins.exists() else None) == before
