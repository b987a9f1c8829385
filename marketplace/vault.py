"""Sealing secrets at rest: shop credentials and access tokens are Fernet tokens in the database, never plain text.

The key is settings.MARKETPLACE_KEY (a Fernet key) when set, else derived from SECRET_KEY with HKDF, so a database
dump alone reveals nothing. Rotating SECRET_KEY without setting MARKETPLACE_KEY makes stored credentials unreadable:
users reconnect their shops.
"""

import base64
import functools
import json

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

HKDF_INFO = b"threadline marketplace credentials v1"


class SealBroken(Exception):
    """A sealed value could not be opened: wrong key (SECRET_KEY rotated?) or damaged data."""


@functools.cache
def _fernet(marketplace_key, secret_key):
    if marketplace_key:
        return Fernet(marketplace_key.encode())
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def fernet():
    return _fernet(settings.MARKETPLACE_KEY, settings.SECRET_KEY)


def seal(value):
    """Encrypt and authenticate any JSON-able value; returns text for a TextField."""
    return fernet().encrypt(json.dumps(value).encode()).decode()


def unseal(sealed):
    try:
        return json.loads(fernet().decrypt(sealed.encode()))
    except (InvalidToken, ValueError) as error:
        raise SealBroken("stored credentials cannot be decrypted with the current key") from error
