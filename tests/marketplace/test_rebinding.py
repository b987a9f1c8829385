"""A shop's API name is checked at every connection, not only when the shop is connected (issue 16, finding 9):
a name that resolves to a public address when checked and to 127.0.0.1 a moment later (DNS rebinding) must never
lead a worker to a server on our own machine.

The resolver is what leaves the machine, so it is the one thing faked; the server that must not be reached is real.
"""

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from core import resilience
from marketplace import services, vault
from marketplace.models import Listing, ShopConnection
from tests.marketplace.conftest import API_KEY, API_SECRET, quick_service

pytestmark = pytest.mark.django_db

PUBLIC = "93.184.215.14"  # a global address; never connected to: the name stops resolving to it after the check
NAME = "shop.rebind.example"


class InsideServer(ThreadingHTTPServer):
    """An HTTP server on 127.0.0.1 that counts every connection it accepts and the Host each request names."""

    def __init__(self):
        self.connections, self.hosts = 0, []

        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                outer.hosts.append(self.headers["Host"])
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            do_POST = do_GET  # noqa: N815

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.port = self.server_address[1]
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def verify_request(self, request, client_address):
        self.connections += 1
        return True


@pytest.fixture
def inside():
    server = InsideServer()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def rebinding_dns(monkeypatch):
    """NAME resolves to PUBLIC on the first lookup and to 127.0.0.1 (or what `answers` says) on every later one."""
    real = socket.getaddrinfo
    lookups = []
    answers = {"first": [PUBLIC], "later": ["127.0.0.1"]}

    def getaddrinfo(host, port, *args, **kwargs):
        if host != NAME:
            return real(host, port, *args, **kwargs)
        lookups.append(host)
        addresses = answers["first" if len(lookups) == 1 else "later"]
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port)) for address in addresses]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return {"lookups": lookups, "answers": answers}


def test_connecting_a_shop_whose_name_moves_inside_after_the_check_reaches_nothing(user, inside, rebinding_dns):
    with pytest.raises(services.MarketplaceError) as refused:
        services.shop_connect(owner=user, base_url=f"https://{NAME}:{inside.port}", api_key=API_KEY,
                              api_secret=API_SECRET)
    assert refused.value.message == services.MESSAGES["url_private"]
    assert len(rebinding_dns["lookups"]) == 2  # the check's, then the connection's own
    assert inside.connections == 0 and not ShopConnection.objects.exists()


def test_publishing_to_a_connected_shop_whose_name_moved_inside_fails_without_a_connection(
    user, design, inside, rebinding_dns
):
    rebinding_dns["lookups"].append("when the shop was connected")  # every lookup from now on answers 127.0.0.1
    connection = ShopConnection.objects.create(
        owner=user, name="Rebinding shop", base_url=f"https://{NAME}:{inside.port}",
        credentials_sealed=vault.seal({"api_key": API_KEY, "api_secret": API_SECRET}))
    listing = services.listing_request(owner=user, design_id=design.pk, connection_id=connection.pk)
    assert services.listing_publish(listing_id=listing.pk) == Listing.Status.FAILED
    listing.refresh_from_db()
    assert "private network" in listing.last_error
    assert inside.connections == 0


def test_a_name_with_one_inside_address_among_public_ones_is_refused(inside, rebinding_dns):
    rebinding_dns["answers"]["first"] = [PUBLIC, "127.0.0.1"]
    service = quick_service(public_only=True)
    with pytest.raises(resilience.AddressRefused):
        service.request("GET", f"http://{NAME}:{inside.port}/v1/listings/1")
    assert inside.connections == 0
    assert service.breaker.state() == "closed"  # the service did nothing wrong


def test_the_connection_goes_to_the_checked_address_and_keeps_the_name_in_the_host_header(
    inside, rebinding_dns, monkeypatch
):
    """The positive path, with loopback let through the check for once: one lookup per call, made by the check,
    and the request carries the name, so a virtual host behind the address still answers."""
    rebinding_dns["answers"]["first"] = ["127.0.0.1"]
    monkeypatch.setattr(resilience, "is_public_address", lambda address: address == "127.0.0.1")
    response = quick_service(public_only=True).request("GET", f"http://{NAME}:{inside.port}/v1/listings/1")
    assert response.status_code == 200
    assert inside.hosts == [f"{NAME}:{inside.port}"] and len(rebinding_dns["lookups"]) == 1


def test_trusted_marketplaces_are_not_checked(fake_marketplace, settings):
    settings.MARKETPLACE_URLS = [fake_marketplace.url]  # on 127.0.0.1, listed by the operator
    service = quick_service(public_only=True, trusted_urls_setting="MARKETPLACE_URLS")
    assert service.request("POST", f"{fake_marketplace.url}/oauth/token", data={
        "grant_type": "client_credentials", "client_id": API_KEY, "client_secret": API_SECRET}).status_code == 200


def self_signed(tmp_path, name):
    """A certificate for `name` alone (not for 127.0.0.1), and its key, as PEM files."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_over_tls_the_checked_address_is_reached_with_the_name_in_sni_and_the_certificate_check(
    tmp_path, inside, rebinding_dns, monkeypatch
):
    import ssl

    cert_path, key_path = self_signed(tmp_path, NAME)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    names = []
    context.sni_callback = lambda sock, server_name, ctx: names.append(server_name)
    inside.socket = context.wrap_socket(inside.socket, server_side=True)
    rebinding_dns["answers"]["first"] = ["127.0.0.1"]
    monkeypatch.setattr(resilience, "is_public_address", lambda address: address == "127.0.0.1")
    response = quick_service(public_only=True).request("GET", f"https://{NAME}:{inside.port}/v1/listings/1",
                                                       verify=str(cert_path))
    assert response.status_code == 200
    assert names == [NAME] and inside.hosts == [f"{NAME}:{inside.port}"]
