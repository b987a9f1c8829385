"""The marketplace's HTTP API, spoken through project/resilience.py (timeouts, retries, the shared breaker).

Plain values in, plain values out: no models here.
"""

from dataclasses import dataclass

from core import resilience

SERVICE = "marketplace"


@dataclass(frozen=True)
class Token:
    access_token: str
    expires_in: int  # seconds


def marketplace():
    return resilience.service(SERVICE)


def _url(base_url, path):
    return f"{base_url.rstrip('/')}{path}"


def _answer(response, *required):
    """The JSON object of a 2xx answer holding the `required` keys; anything else (a redirect, an HTML page, a body
    without the keys) is refused like a 4xx: asking again the same way will not make it better."""
    try:
        body = response.json() if response.status_code < 300 else None
    except ValueError:
        body = None
    if not isinstance(body, dict) or any(key not in body for key in required):
        raise resilience.RequestRejected(
            f"{SERVICE} gave an unexpected answer ({response.status_code}): {response.text[:200]}",
            service=SERVICE, status=response.status_code, response=response)
    return body


def fetch_token(base_url, *, api_key, api_secret, max_attempts=None):
    """OAuth client-credentials grant."""
    response = marketplace().request(
        "POST", _url(base_url, "/oauth/token"), max_attempts=max_attempts,
        data={"grant_type": "client_credentials", "client_id": api_key, "client_secret": api_secret},
    )
    body = _answer(response, "access_token")
    return Token(access_token=body["access_token"], expires_in=int(body.get("expires_in") or 3600))


def create_listing(base_url, *, access_token, idempotency_key, payload):
    """Create a listing, or get the one already created with this key (the marketplace answers 200 then)."""
    response = marketplace().request(
        "POST", _url(base_url, "/v1/listings"), json=payload,
        headers={"Authorization": f"Bearer {access_token}", "Idempotency-Key": str(idempotency_key)},
    )
    return _answer(response, "id")


def get_listing(base_url, *, access_token, external_id):
    response = marketplace().request(
        "GET", _url(base_url, f"/v1/listings/{external_id}"), headers={"Authorization": f"Bearer {access_token}"},
    )
    return _answer(response, "id")


def error_message(error):
    """The marketplace's own words for a refusal, from the usual JSON error shapes, else the status line."""
    response = getattr(error, "response", None)
    if response is None:
        return str(error)
    try:
        body = response.json()
    except ValueError:
        body = None
    message = None
    if isinstance(body, dict):
        detail = body.get("error")
        if isinstance(detail, dict):
            message = detail.get("message")
        message = message or body.get("message") or body.get("error_description") or body.get("detail")
        if not message and isinstance(detail, str):
            message = detail
    text = message if isinstance(message, str) and message else (response.text or response.reason or "")
    return f"{response.status_code}: {text}"[:300]
