"""schemathesis against a live server: every operation of core.openapi, logged in as a customer with the CSRF
header set, a bounded number of examples each. No answer may be a 5xx or differ from the description."""

import itertools
from decimal import Decimal

import hypothesis
import pytest
import requests
import schemathesis
from django.conf import settings
from django.test import Client
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from core.openapi import openapi_spec
from tests.orders.conftest import create_design, line

pytestmark = [pytest.mark.fuzz, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

EXAMPLES = 25  # per operation: ~20 operations x 25 requests stay near a minute on 2 CPUs (measured)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]
CSRF_TOKEN = "fuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzz"  # 32 characters: an unmasked secret, as the cookie holds it


@pytest.fixture
def customer(transactional_db, django_user_model, live_server):
    """A customer with a design, an order and a product, and an HTTP session logged in as them."""
    from orders import services
    from orders.models import Product

    user = django_user_model.objects.create_user("fuzz", "fuzz@example.com", "fuzz-password-1")
    design = create_design(user, title="Fuzz")
    product = Product.objects.create(name="Tee", price=Decimal("19.90"), sizes="S,M", colors="black")
    order = services.order_create(email=user.email, name="Fuzz", items=[line(product, design)], user=user)
    client = Client()
    client.force_login(user)
    session = requests.Session()
    session.cookies.set(settings.SESSION_COOKIE_NAME, client.cookies[settings.SESSION_COOKIE_NAME].value)
    session.cookies.set(settings.CSRF_COOKIE_NAME, CSRF_TOKEN)
    session.headers["X-CSRFToken"] = CSRF_TOKEN
    known = {"design_id": str(design.pk), "order_id": str(order.pk), "batch_id": str(design.batch_id or design.pk),
             "product": str(product.pk)}
    return session, known, itertools.count()


schema = schemathesis.openapi.from_dict(openapi_spec())  # a plain dict: no database needed to collect


@schema.parametrize()
@hypothesis.settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                     suppress_health_check=list(hypothesis.HealthCheck))
def test_every_operation_answers_as_described_and_never_5xx(case, customer, live_server, fuzz_summary):
    session, known, serial = customer
    if next(serial) % 2:
        # Every other example names the customer's own rows, so the answers past the 404 (and an order's writes)
        # are fuzzed too.
        if case.path_parameters:
            case.path_parameters = {name: known.get(name, value) for name, value in case.path_parameters.items()}
        if isinstance(case.body, dict) and isinstance(case.body.get("items"), list):
            case.body["items"] = [{**item, "product": known["product"], "design": known["design_id"]}
                                  if isinstance(item, dict) else item for item in case.body["items"]]
    response = case.call(base_url=live_server.url, session=session, timeout=30)
    fuzz_summary["operations"] = sum(len(operations) for operations in schema.raw_schema["paths"].values())
    fuzz_summary["requests"] += 1
    fuzz_summary[f"answers {response.status_code // 100}xx"] += 1
    try:
        case.validate_response(response, checks=CHECKS)
    except Exception:
        fuzz_summary["failures"] += 1
        raise
