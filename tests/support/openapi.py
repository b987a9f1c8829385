"""Check an /api/ answer against core.openapi: its status is documented for its operation and its body matches."""

import functools
import json
import re

from django.urls import Resolver404, resolve
from jsonschema import Draft202012Validator

from core.openapi import openapi_spec

ROUTE_PARAMETER = re.compile(r"<(?:\w+:)?(\w+)>")


def path_template(route):
    """Django's route (`api/uploads/<uuid:batch_id>`) as an OpenAPI path (`/api/uploads/{batch_id}`)."""
    return "/" + ROUTE_PARAMETER.sub(r"{\1}", route)


@functools.cache
def spec():
    return openapi_spec()


@functools.cache
def _validator(schema_path):
    """A validator for the schema at `schema_path` in the spec, its $refs resolved within the spec."""
    node = spec()
    for key in schema_path:
        node = node[key]
    return Draft202012Validator({**node, "components": spec()["components"]},
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


def _response(operation, status):
    response = operation["responses"].get(str(status))
    if response and "$ref" in response:
        name = response["$ref"].rsplit("/", 1)[1]
        return response, ("components", "responses", name)
    return response, None


def assert_documented(method, path, response):
    """Fails, saying why, when `response` to `method path` is not what the spec describes."""
    status = response.status_code
    content_type = response.get("Content-Type", "").split(";")[0]
    what = f"{method} {path} answered {status} {content_type}"
    try:
        template = path_template(resolve(path).route)
    except Resolver404:
        template = None
    operation = spec()["paths"].get(template, {}).get(method.lower())
    if operation is None:
        # No such route or method: a 404 or 405, or what Django answers before routing: the CSRF check's 403 and the
        # body parser's 400 or 413. All in JSON.
        assert status in (400, 403, 404, 405, 413) and content_type == "application/json", what
        assert isinstance(json.loads(response.content).get("error"), str), what
        return
    described, shared = _response(operation, status)
    assert described, f"{what}: the spec documents only {sorted(operation['responses'])}"
    media = described.get("content") if not shared else spec()["components"]["responses"][shared[-1]].get("content")
    if not media:
        return
    if content_type not in media:
        assert any(kind.endswith("/*") and content_type.startswith(kind[:-1]) for kind in media), \
            f"{what}: the spec says {sorted(media)}"
        return
    if content_type == "application/json":
        schema_path = (*shared, "content", content_type, "schema") if shared else (
            "paths", template, method.lower(), "responses", str(status), "content", content_type, "schema")
        errors = sorted(_validator(schema_path).iter_errors(json.loads(response.content)), key=str)
        assert not errors, f"{what}: {errors[0].message} at {list(errors[0].absolute_path)}"
