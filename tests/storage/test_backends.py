"""S3 and SFTP storage against real servers on loopback: uploads, processing, the file views, health, outages."""

import hashlib
import io
import threading
import time
import uuid

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import InMemoryStorage, default_storage, storages
from PIL import Image
from storages.backends.s3 import S3Storage

from core import storage as design_storage
from core.patches import sftp_storage
from core.patches.sftp_storage import ContentAddressedSFTPStorage
from designs import services
from designs.models import THUMBNAIL_SIZES, Design, original_key, thumbnail_key
from tests.conftest import design_image, encode, upload_file

pytestmark = [pytest.mark.slow, pytest.mark.django_db]  # starts real servers

HEALTH_ANSWER_S = 4  # a load balancer's probe must get an answer, healthy or not
IMMUTABLE = "public, max-age=31536000, immutable"


def pngs(count, *, first_seed):
    return [encode(design_image(seed=seed)) for seed in range(first_seed, first_seed + count)]


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def upload(owner, blobs):
    files = [upload_file(f"art-{n}.png", data, "image/png") for n, data in enumerate(blobs)]
    return services.design_batch_upload(owner=owner, files=files)


def original_keys(blobs):
    return {original_key(sha256(data), "PNG") for data in blobs}


def body_of(response):
    return b"".join(response.streaming_content)  # the test client closes the response (and the file) at the end


def uploaded_and_processed(owner, blobs):
    designs = [accepted.design for accepted in upload(owner, blobs).accepted]
    for design in designs:
        services.design_process(design_id=design.pk)
    return [Design.objects.get(pk=design.pk) for design in designs]


def test_the_setting_selects_the_backend_and_resets_default_storage(backend, settings):
    expected = {"s3": S3Storage, "sftp": ContentAddressedSFTPStorage}[backend.name]
    entry = settings.STORAGES["default"]
    assert not default_storage.exists("nothing-here")  # a real round trip to the server
    first = default_storage._wrapped
    assert type(first) is expected and first is storages["default"]

    # Once set up, default_storage still follows the setting: Django's setting_changed handler resets it.
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}
    default_storage.save("only-in-memory", ContentFile(b"x"))
    assert type(default_storage._wrapped) is InMemoryStorage
    settings.STORAGES = {**settings.STORAGES, "default": entry}
    assert not default_storage.exists("only-in-memory")
    assert type(default_storage._wrapped) is expected and default_storage._wrapped is not first
    assert "only-in-memory" not in backend.keys()
    getattr(first, "close", lambda: None)()


def test_batch_upload_stores_each_original_once_under_its_content_key(backend, user, other_user):
    blobs = pngs(4, first_seed=1)
    result = upload(user, [*blobs, blobs[0]])

    assert not result.rejected
    assert [accepted.design.status for accepted in result.accepted] == ["queued"] * 4 + ["duplicate"]
    assert backend.keys() == original_keys(blobs)
    for data in blobs:
        assert backend.read(original_key(sha256(data), "PNG")) == data

    again = upload(user, blobs)
    assert {accepted.design.status for accepted in again.accepted} == {"duplicate"}
    # Another owner's identical files are stored again under the same keys: written in place, never renamed.
    theirs = upload(other_user, list(reversed(blobs)))
    assert {accepted.design.status for accepted in theirs.accepted} == {"queued"}
    first_key = original_key(sha256(blobs[0]), "PNG")
    assert design_storage.store(first_key, ContentFile(blobs[0])) == first_key
    assert backend.keys() == original_keys(blobs)


def test_processing_reads_the_original_back_and_writes_thumbnails(backend, user):
    blobs = pngs(2, first_seed=10)
    designs = uploaded_and_processed(user, blobs)

    expected = set(original_keys(blobs))
    for design in designs:
        assert design.status == Design.Status.READY and design.has_thumbnail, design.error
        for size in THUMBNAIL_SIZES:
            expected.add(thumbnail_key(design.sha256, size))
            with Image.open(io.BytesIO(backend.read(thumbnail_key(design.sha256, size)))) as thumbnail:
                assert thumbnail.format == "WEBP" and max(thumbnail.size) == size
                if size == min(THUMBNAIL_SIZES):
                    assert thumbnail.size == (design.thumb_width, design.thumb_height)
    assert backend.keys() == expected


def test_thumbnail_view_serves_the_backend_bytes_for_ever(backend, user, client):
    (design,) = uploaded_and_processed(user, pngs(1, first_seed=20))
    url = f"/designs/thumbs/{design.sha256}-256.webp"
    stored = backend.read(thumbnail_key(design.sha256, 256))

    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/webp"
    assert response["Cache-Control"] == IMMUTABLE
    assert response["ETag"] == f'"{design.sha256}-256"'
    # A wrong length truncates (or hangs) the download behind a real server; the test client does not care.
    assert int(response["Content-Length"]) == len(stored)
    assert body_of(response) == stored

    cached = client.get(url, headers={"If-None-Match": response["ETag"]})
    assert cached.status_code == 304 and cached.content == b""
    assert cached["ETag"] == response["ETag"] and cached["Cache-Control"] == IMMUTABLE

    assert client.get(f"/designs/thumbs/{'0' * 64}-256.webp").status_code == 404


def test_original_is_a_download_for_its_owner_only(backend, user, other_user, client):
    data = pngs(1, first_seed=30)[0]
    (accepted,) = upload(user, [data]).accepted
    url = f"/designs/{accepted.design.pk}/original"

    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment") and "art-0.png" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert int(response["Content-Length"]) == len(data)
    assert body_of(response) == data

    client.force_login(other_user)
    assert client.get(url).status_code == 404

    client.force_login(user)
    storages["default"].delete(accepted.design.original_key)
    assert client.get(url).status_code == 404


def test_healthz_names_storage_while_the_server_is_down_and_recovers(stoppable_backend, client):
    response = client.get("/healthz")
    assert response.status_code == 200, response.content
    assert response.json()["storage"] == "ok"

    stoppable_backend.stop_server()
    started = time.monotonic()
    response = client.get("/healthz")
    elapsed = time.monotonic() - started
    assert response.status_code == 503
    body = response.json()
    assert body["storage"] == "failing" and body["database"] == "ok", body
    assert elapsed < HEALTH_ANSWER_S

    stoppable_backend.start_server()
    response = client.get("/healthz")
    assert response.status_code == 200, response.content


def test_batch_uploads_use_the_upload_pool_on_s3_only(backend, user, monkeypatch):
    threads = {}
    real_store = design_storage.store

    def recording_store(key, content):
        threads[key] = threading.current_thread().name
        return real_store(key, content)

    monkeypatch.setattr(design_storage, "store", recording_store)
    blobs = pngs(10, first_seed=40)
    result = upload(user, blobs)

    assert len(result.accepted) == 10 and not result.rejected
    assert backend.keys() == set(threads) == original_keys(blobs)
    for data in blobs:
        assert backend.read(original_key(sha256(data), "PNG")) == data
    if backend.name == "s3":
        assert all(name.startswith("storage-upload") for name in threads.values()), threads
    else:  # one SFTP session is not safe to share between threads
        assert set(threads.values()) == {threading.current_thread().name}


@pytest.mark.parametrize("backend", ["sftp"], indirect=True)
@pytest.mark.parametrize("used_while_down", [False, True], ids=["idle-while-down", "used-while-down"])
def test_sftp_storage_reconnects_after_the_server_dropped_it(backend, used_while_down):
    storage = storages["default"]
    key = f"probe/{uuid.uuid4().hex}.txt"
    storage.save(key, ContentFile(b"before"))

    backend.stop_server()
    if used_while_down:
        with pytest.raises(OSError):  # connection refused, at once
            storage.exists(key)
    backend.start_server()

    assert storage.exists(key)
    with storage.open(key, "rb") as handle:
        assert handle.read() == b"before"
    storage.save(f"{key}.after", ContentFile(b"after"))
    assert backend.read(f"{key}.after") == b"after"


def test_threads_of_one_process_share_the_storage_without_deadlock(backend):
    # gunicorn runs several request threads per process, and /healthz checks storage from a thread of its own.
    storage = storages["default"]
    payloads = {f"shared/{n}.bin": bytes([n]) * (40_000 + n) for n in range(6)}
    for key, data in payloads.items():
        storage.save(key, ContentFile(data))
    errors = []

    def work(worker):
        try:
            for step in range(4):
                key = f"shared/{(worker + step) % len(payloads)}.bin"
                assert storage.exists(key)
                with storage.open(key, "rb") as handle:
                    assert handle.read() == payloads[key]
                storage.save(f"written/{worker}-{step}.bin", ContentFile(payloads[key]))
        except Exception as error:  # reported below, with the thread that raised it
            errors.append(f"thread {worker}: {error!r}")

    threads = [threading.Thread(target=work, args=(worker,), daemon=True) for worker in range(5)]
    deadline = time.monotonic() + 30
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(0, deadline - time.monotonic()))
    assert not [thread for thread in threads if thread.is_alive()], "storage calls hung: threads deadlocked"
    assert not errors
    assert {key for key in backend.keys() if key.startswith("written/")} == {
        f"written/{worker}-{step}.bin" for worker in range(5) for step in range(4)}


@pytest.mark.parametrize("backend", ["sftp"], indirect=True)
def test_health_checks_do_not_leave_ssh_sessions_behind(backend, client):
    assert not default_storage.exists("nothing-here")
    sessions_before = len(backend.server.session_processes())
    for _ in range(4):
        assert client.get("/healthz").status_code == 200
    deadline = time.monotonic() + 10
    while len(backend.server.session_processes()) > sessions_before:
        assert time.monotonic() < deadline, "each health check left an SSH session open"
        time.sleep(0.05)


@pytest.mark.parametrize("backend", ["sftp"], indirect=True)
def test_sftp_save_into_a_folder_another_writer_has_just_created(backend, monkeypatch):
    storage = storages["default"]
    key = thumbnail_key("ab" * 32, 256)
    folder = backend.root / key.rsplit("/", 1)[0]
    folder.mkdir(parents=True)
    # The folder appears between the storage's existence check and its mkdir, as when two workers race.
    path_exists = storage._path_exists
    monkeypatch.setattr(storage, "_path_exists", lambda path: path != str(folder) and path_exists(path))

    assert design_storage.store(key, ContentFile(b"thumbnail")) == key
    assert backend.read(key) == b"thumbnail"


@pytest.mark.parametrize("backend", ["sftp"], indirect=True)
def test_sftp_refuses_a_server_whose_host_key_is_unknown_or_changed(backend, tmp_path):
    import subprocess

    import paramiko

    from project.settings import storage_from_url

    def storage_trusting(known_hosts):
        url = backend.url.replace(str(backend.server.known_hosts), str(known_hosts))
        return ContentAddressedSFTPStorage(**storage_from_url(url)["OPTIONS"])

    unknown = tmp_path / "empty_known_hosts"
    unknown.write_text("")
    with pytest.raises(paramiko.SSHException, match=r"is not in .*empty_known_hosts.*ssh-keyscan -p \d+ 127\.0\.0\.1"):
        storage_trusting(unknown).save("refused/unknown.txt", ContentFile(b"secret"))

    impostor = tmp_path / "impostor_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(impostor)], check=True,
                   stdin=subprocess.DEVNULL)
    changed = tmp_path / "changed_known_hosts"
    impostor_public = " ".join(impostor.with_suffix(".pub").read_text().split()[:2])
    changed.write_text(f"[127.0.0.1]:{backend.server.port} {impostor_public}\n")
    with pytest.raises(paramiko.BadHostKeyException):
        storage_trusting(changed).save("refused/changed.txt", ContentFile(b"secret"))

    assert backend.keys() == set()  # nothing was sent to a server that was not the one named
    storage_trusting(backend.server.known_hosts).save("trusted.txt", ContentFile(b"fine"))
    assert backend.read("trusted.txt") == b"fine"


@pytest.mark.parametrize("backend", ["sftp"], indirect=True)
def test_an_sftp_server_that_stops_answering_times_out_and_is_reconnected(backend, monkeypatch):
    import os
    import signal

    monkeypatch.setattr(sftp_storage, "SFTP_REQUEST_TIMEOUT_S", 1)
    storage = storages["default"]
    connected, frozen, outcome = threading.Event(), threading.Event(), {}

    def worker():  # a thread of its own, so that a call that hangs fails the test instead of stopping it
        storage.save("alive.txt", ContentFile(b"here"))
        connected.set()
        frozen.wait(10)
        started = time.monotonic()
        try:
            storage.exists("alive.txt")
        except Exception as error:
            outcome["error"] = error
        outcome["seconds"] = time.monotonic() - started
        assert storage.exists("alive.txt")  # on a new session: the timed-out one was closed
        with storage.open("alive.txt", "rb") as handle:
            outcome["read"] = handle.read()

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    assert connected.wait(10)
    sessions = backend.server.session_processes()
    for pid in sessions:  # the server keeps the connection open and answers nothing
        os.kill(pid, signal.SIGSTOP)
    frozen.set()
    try:
        thread.join(5)
    finally:
        for pid in sessions:
            os.kill(pid, signal.SIGCONT)
    thread.join(10)
    assert not thread.is_alive(), "a storage call hung on a server that stopped answering"
    assert isinstance(outcome.get("error"), TimeoutError) and outcome["seconds"] < 3, outcome
    assert outcome["read"] == b"here"
