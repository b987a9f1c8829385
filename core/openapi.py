"""The OpenAPI 3.1 description of every /api/ route, kept beside the views (tests walk the URLconf against it and
validate every answer the suite sees). The JSON contract itself is shared/DESIGN.md's.

To describe a new operation, add one `_operation(...)` under its path in PATHS."""

import copy

UUID = {"type": "string", "format": "uuid"}
URL = {"type": "string"}
NULLABLE_STRING = {"type": ["string", "null"]}
NULLABLE_UUID = {"type": ["string", "null"], "format": "uuid"}
TIMESTAMP = {"type": "string", "format": "date-time"}
MONEY = {"type": "string", "pattern": r"^-?[0-9]+\.[0-9]{2}$"}


def _ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def _object(properties, *, optional=()):
    """A JSON object whose `properties` are all there, except `optional` ones that may be left out."""
    return {"type": "object", "properties": {**properties, **dict(optional)},
            "required": list(properties)}


DESIGN_STATUS = {"type": "string", "enum": ["queued", "processing", "ready", "duplicate", "failed"]}
ADDRESS = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "line1": {"type": "string"}, "line2": {"type": "string"},
                   "city": {"type": "string"}, "postal_code": {"type": "string"}, "region": {"type": "string"},
                   "country": {"type": "string", "description": "ISO 3166-1 alpha-2"}, "phone": {"type": "string"}},
}

SCHEMAS = {
    "Error": _object({"error": {"type": "string"}}, optional={"details": {}}),
    "Rejected": _object({"name": {"type": "string"}, "error": {"type": "string"}}),
    "AcceptedFile": _object({"name": {"type": "string"}, "design_id": UUID, "status": DESIGN_STATUS,
                             "duplicate_of": NULLABLE_UUID}),
    "UploadAnswer": _object({"id": UUID, "status_url": URL,
                             "accepted": {"type": "array", "items": _ref("AcceptedFile")},
                             "rejected": {"type": "array", "items": _ref("Rejected")}}),
    "BatchStatus": _object({
        "id": UUID, "status": {"type": "string", "enum": ["processing", "done"]},
        **{count: {"type": "integer", "minimum": 0} for count in ("total", "processed", "ready", "duplicates",
                                                                  "failed")},
        "rejected": {"type": "array", "items": _ref("Rejected")},
        "items": {"type": "array", "items": _object({
            "name": {"type": "string"}, "design_id": UUID, "status": DESIGN_STATUS, "duplicate_of": NULLABLE_UUID,
            "distance": {"type": ["integer", "null"]}, "thumbnail_url": NULLABLE_STRING, "error": NULLABLE_STRING,
        })},
    }),
    "DesignSummary": _object({"id": UUID, "title": {"type": "string"}, "status": DESIGN_STATUS,
                              "width": {"type": ["integer", "null"]}, "height": {"type": ["integer", "null"]},
                              "thumbnail_url": NULLABLE_STRING, "created_at": TIMESTAMP}),
    "DesignPage": _object({"results": {"type": "array", "items": _ref("DesignSummary")},
                           "next": NULLABLE_STRING, "previous": NULLABLE_STRING}),
    "Design": {"allOf": [_ref("DesignSummary"), _object({
        "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "phash": {"type": ["string", "null"], "pattern": "^[0-9a-f]{16}$"},
        "duplicate_of": NULLABLE_UUID, "distance": {"type": ["integer", "null"]}, "error": NULLABLE_STRING,
        "similar": {"type": "array", "items": _object({"id": UUID, "distance": {"type": "integer"}})},
    })]},
    "MockupCreated": _object({"id": UUID, "status_url": URL}),
    "Mockup": _object({"status": {"type": "string", "enum": ["queued", "processing", "ready", "failed"]},
                       "image_url": NULLABLE_STRING, "error": NULLABLE_STRING}),
    "Template": _object({"id": UUID, "name": {"type": "string"}, "preview_url": URL, "photo_url": URL,
                         "width": {"type": ["integer", "null"]}, "height": {"type": ["integer", "null"]},
                         "print_area": _object({side: {"type": "integer"} for side in ("x", "y", "width", "height")})}),
    "Product": _object({"id": UUID, "name": {"type": "string"}, "price": MONEY,
                        "sizes": {"type": "array", "items": {"type": "string"}},
                        "colors": {"type": "array", "items": {"type": "string"}}}),
    "ShippingAddress": ADDRESS,
    "OrderRequest": {
        "type": "object",
        "properties": {
            "email": {"type": "string", "description": "optional; the account's address, the only one mailed"},
            "name": {"type": "string", "maxLength": 120},
            "items": {"type": "array", "minItems": 1, "maxItems": 50, "items": _object({
                "product": UUID, "design": UUID, "size": {"type": "string"}, "color": {"type": "string"},
                "quantity": {"type": "integer", "minimum": 1, "maximum": 5000}})},
            "shipping_address": _ref("ShippingAddress"),
            "note": {"type": "string", "description": "a note to the shop"},
            "save_address": {"type": "boolean", "description": "offer this address again on the next order"},
        },
        "required": ["name", "items"],
    },
    "OrderCreated": _object({"id": UUID, "number": {"type": "string"}, "status": {"type": "string"}, "url": URL}),
    "Order": _object({
        "id": UUID, "number": {"type": "string"}, "status": {"type": "string"}, "email": {"type": "string"},
        "name": {"type": "string"}, "total": MONEY, "created_at": TIMESTAMP,
        "items": {"type": "array", "items": _object({
            "product": UUID, "product_name": {"type": "string"}, "design": UUID, "thumbnail_url": NULLABLE_STRING,
            "size": {"type": "string"}, "color": {"type": "string"}, "quantity": {"type": "integer"},
            "unit_price": MONEY, "line_total": MONEY})},
        "events": {"type": "array", "items": _object({"kind": {"type": "string"}, "message": {"type": "string"},
                                                      "created_at": TIMESTAMP})},
        "payment_status": {"type": "string", "enum": ["unpaid", "paid", "refunded"]},
        "payment": {"type": "object", "description": "how to pay: the provider's method, name and reference",
                    "properties": {"method": {"type": "string"}, "name": {"type": "string"},
                                   "reference": {"type": "string"}, "amount": MONEY},
                    "required": ["method", "name", "reference"]},
        "shipping_address": {"anyOf": [_ref("ShippingAddress"), {"type": "null"}]},
        "note": {"type": "string"},
        "tracking_url": {**NULLABLE_STRING, "description": "set once shipped"},
    }),
    "Stats": {"type": "object", "description": "order and design statistics for the staff dashboard"},
    "ListingRequest": {"type": "object", "properties": {"connection": UUID}},
    "Listing": _object({
        "id": UUID, "design_id": UUID, "connection_id": UUID,
        "status": {"type": "string", "enum": ["queued", "publishing", "published", "failed", "waiting"]},
        "external_id": NULLABLE_STRING, "attempts": {"type": "integer"}, "last_error": NULLABLE_STRING,
        "next_attempt_at": {"type": ["string", "null"], "format": "date-time"},
        "published_at": {"type": ["string", "null"], "format": "date-time"}, "status_url": URL,
    }),
}

ERRORS = {
    400: "Bad input; `error` says what, `details` where.",
    401: "Not logged in.",
    403: "Not allowed, or the CSRF check failed (send the csrftoken cookie's value in X-CSRFToken).",
    404: "No such thing, or not yours.",
    409: "Not possible in the current state: the design is not processed (or failed), or an order uses it.",
    413: "The request body is over the size limit.",
    429: "Too many requests; Retry-After says when to try again.",
    500: "Server error (logged).",
}
UNSAFE_ERRORS = (400, 403, 413)  # CSRF, a body that does not parse, a body over the limit


def _path_parameter(name, schema):
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _json_content(schema):
    return {"application/json": {"schema": schema}}


def _operation(method, operation_id, summary, *, ok, schema, errors=(), parameters=(), body=None, public=False,
               content=None):
    """One operation: its success status and schema, and every error status it can answer (JSON `Error`)."""
    statuses = {*errors, 500}
    if not public:
        statuses.add(401)
    if method in ("post", "put", "patch", "delete"):
        statuses.update(UNSAFE_ERRORS)
    content = content if content is not None else _json_content(schema) if schema is not None else None
    responses = {str(ok): {"description": summary, **({"content": content} if content else {})}}  # 204: none
    responses.update({str(status): {"$ref": f"#/components/responses/{status}"} for status in sorted(statuses)})
    operation = {"operationId": operation_id, "summary": summary, "responses": responses,
                 "security": [] if public else [{"session": [], "csrf": []}]}
    if parameters:
        operation["parameters"] = list(parameters)
    if body:
        operation["requestBody"] = {"required": True, "content": body}
    return method, operation


def _file(content_type, operation_id, summary, parameters):
    """An image at a content-addressed URL: 304 on a matching If-None-Match, public, cached forever."""
    return _operation("get", operation_id, summary, ok=200, schema=None, errors=(304, 404), parameters=parameters,
                      public=True, content={content_type: {"schema": {"type": "string", "format": "binary"}}})


HEX = {"type": "string"}  # the views refuse anything but 64 hex digits with a 404
IMAGE_SIZE = {"type": "integer", "minimum": 0}
UPLOAD_FILES = {"multipart/form-data": {"schema": {
    "type": "object", "properties": {"files": {"type": "array", "items": {"type": "string", "format": "binary"}}},
    "required": ["files"]}}}
FILE_ERRORS = (400, 404, 413, 429)

PATHS = {
    "/api/openapi.json": [_operation("get", "openapi", "This description.", ok=200, schema={"type": "object"},
                                     public=True)],
    "/api/docs/": [_operation("get", "docs", "This description as a page, for staff.", ok=200, schema=None,
                              errors=(403,), content={"text/html": {"schema": {"type": "string"}}})],
    "/api/uploads": [_operation("post", "upload_create", "Upload files into a new batch.", ok=202,
                                schema=_ref("UploadAnswer"), errors=(429,), body=UPLOAD_FILES)],
    "/api/uploads/{batch_id}": [_operation("get", "upload_status", "A batch's progress and items.", ok=200,
                                           schema=_ref("BatchStatus"), errors=(404,),
                                           parameters=[_path_parameter("batch_id", UUID)])],
    "/api/uploads/{batch_id}/files": [_operation("post", "upload_add_files", "Add files to a batch.", ok=202,
                                                 schema=_ref("UploadAnswer"), errors=(404, 429), body=UPLOAD_FILES,
                                                 parameters=[_path_parameter("batch_id", UUID)])],
    "/api/designs": [_operation("get", "design_list", "The user's designs, newest first, 50 a page.", ok=200,
                                schema=_ref("DesignPage"), errors=(404,),
                                parameters=[{"name": "page", "in": "query", "required": False,
                                             "schema": {"type": "integer", "minimum": 1}}])],
    "/api/designs/{design_id}": [
        _operation("get", "design_detail", "A design with its near duplicates.", ok=200, schema=_ref("Design"),
                   errors=(404,), parameters=[_path_parameter("design_id", UUID)]),
        _operation("patch", "design_rename", "Rename the user's own design.", ok=200, schema=_ref("DesignSummary"),
                   errors=(404,), parameters=[_path_parameter("design_id", UUID)],
                   body=_json_content(_object({"title": {"type": "string", "minLength": 1, "maxLength": 200}}))),
        _operation("delete", "design_delete", "Delete the user's own design and, when nothing else uses them, its "
                   "files; a design an order uses is kept (409).", ok=204, schema=None, errors=(404, 409),
                   parameters=[_path_parameter("design_id", UUID)]),
    ],
    "/api/designs/{design_id}/mockups": [_operation(
        "post", "mockup_create", "Render the design onto a garment template.", ok=202, schema=_ref("MockupCreated"),
        errors=(404, 409), parameters=[_path_parameter("design_id", UUID)],
        body=_json_content(_object({"template": UUID})))],
    "/api/mockups/{mockup_id}": [_operation("get", "mockup_status", "A mockup's status and image.", ok=200,
                                            schema=_ref("Mockup"), errors=(404,),
                                            parameters=[_path_parameter("mockup_id", UUID)])],
    "/api/mockups/images/{digest}-{size}.webp": [_file("image/webp", "mockup_preview", "A mockup's preview.",
                                                       [_path_parameter("digest", HEX),
                                                        _path_parameter("size", IMAGE_SIZE)])],
    "/api/mockups/images/{digest}.webp": [_file("image/webp", "mockup_image", "A mockup's image.",
                                                [_path_parameter("digest", HEX)])],
    "/api/templates": [_operation("get", "template_list", "The garment templates.", ok=200,
                                  schema={"type": "array", "items": _ref("Template")})],
    "/api/templates/photos/{sha256}-{size}.webp": [_file("image/webp", "template_preview", "A template's preview.",
                                                         [_path_parameter("sha256", HEX),
                                                          _path_parameter("size", IMAGE_SIZE)])],
    "/api/templates/photos/{sha256}.{extension}": [_file("image/*", "template_photo", "A template's photo.",
                                                         [_path_parameter("sha256", HEX),
                                                          _path_parameter("extension", {"type": "string"})])],
    "/api/products": [_operation("get", "product_list", "The products on sale.", ok=200,
                                 schema={"type": "array", "items": _ref("Product")}, public=True)],
    "/api/orders": [_operation("post", "order_create", "Place an order; it is mailed to the account's address.",
                               ok=201, schema=_ref("OrderCreated"), errors=(429,),
                               body=_json_content(_ref("OrderRequest")))],
    "/api/orders/{order_id}": [_operation("get", "order_detail", "An order with its items and events.", ok=200,
                                          schema=_ref("Order"), errors=(404,),
                                          parameters=[_path_parameter("order_id", UUID)])],
    "/api/stats": [_operation("get", "stats", "Order and design statistics (staff who may view both).", ok=200,
                              schema=_ref("Stats"), errors=(403,))],
    "/api/designs/{design_id}/listings": [_operation(
        "post", "listing_create", "Publish the design to a connected shop.", ok=202, schema=_ref("Listing"),
        errors=(404, 409), parameters=[_path_parameter("design_id", UUID)],
        body=_json_content(_ref("ListingRequest")))],
    "/api/listings/{listing_id}": [_operation("get", "listing_detail", "A listing's progress.", ok=200,
                                              schema=_ref("Listing"), errors=(404,),
                                              parameters=[_path_parameter("listing_id", UUID)])],
}


def _error_response(status, description):
    if status == 304:
        return {"description": "Not modified: the cached copy is current."}
    return {"description": description, "content": _json_content(_ref("Error"))}


def openapi_spec():
    """The description as a fresh dict (callers may change theirs)."""
    return copy.deepcopy({
        "openapi": "3.1.0",
        "info": {"title": "Threadline API", "version": "1",
                 "description": "Session log-in; unsafe methods need the X-CSRFToken header. Ids are UUIDs. "
                                "Errors are {\"error\": \"<message>\", \"details\": ...}."},
        "paths": {path: dict(operations) for path, operations in PATHS.items()},
        "components": {
            "schemas": SCHEMAS,
            "responses": {str(status): _error_response(status, text)
                          for status, text in {**ERRORS, 304: ""}.items()},
            "securitySchemes": {"session": {"type": "apiKey", "in": "cookie", "name": "sessionid"},
                                "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRFToken"}},
        },
    })


def docs_outline(spec):
    """The description as rows a page can show: each operation with its parameters, body and statuses, then each
    schema with its properties."""
    operations = []
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            body = operation.get("requestBody", {}).get("content", {})
            operations.append({
                "method": method.upper(), "path": path, "summary": operation["summary"],
                "public": operation["security"] == [],
                "parameters": [(parameter["name"], parameter["in"], _type_name(parameter["schema"]))
                               for parameter in operation.get("parameters", [])],
                "body": [(content_type, _type_name(media["schema"])) for content_type, media in body.items()],
                "responses": [(status, _response_text(spec, response))
                              for status, response in operation["responses"].items()],
            })
    schemas = [{"name": name, "properties": [(prop, _type_name(schema), prop in body.get("required", []))
                                             for prop, schema in _properties(spec, body).items()]}
               for name, body in spec["components"]["schemas"].items()]
    return {"operations": operations, "schemas": schemas}


def _properties(spec, schema):
    properties = dict(schema.get("properties", {}))
    for part in schema.get("allOf", []):
        properties.update(_properties(spec, _resolve(spec, part)))
    return properties


def _resolve(spec, schema):
    if "$ref" in schema:
        return spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _type_name(schema):
    if schema is None:
        return ""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[1]
    if "anyOf" in schema:
        return " or ".join(_type_name(part) for part in schema["anyOf"])
    kind = schema.get("type", "object")
    kind = " or ".join(kind) if isinstance(kind, list) else kind
    if kind == "array":
        return f"array of {_type_name(schema.get('items'))}"
    extra = schema.get("format") or ("one of " + ", ".join(schema["enum"]) if "enum" in schema else "")
    return f"{kind} ({extra})" if extra else kind


def _response_text(spec, response):
    if "$ref" in response:
        response = spec["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    types = ", ".join(f"{content_type} {_type_name(media['schema'])}".strip()
                      for content_type, media in response.get("content", {}).items())
    return f"{response['description']} {types}".strip()
