"""Checks responses against openapi.json: the operation (method and path
template), the response (by status, then its range "4XX", then "default"),
the media type, the headers it marks required, and JSON bodies
(application/json, application/problem+json) against the schema, with
`$ref`s resolved in the whole document (OpenAPI 3.1 schemas are JSON Schema
2020-12). The check reads every object schema that lists its properties as
closed: a field the service sends must be in the document too (composed
schemas, allOf/anyOf/oneOf, stay open, as closing their parts would refuse
the whole).

conftest.py installs `record` on every response requests receives and fails
the test that received a violation. Paths outside the API (pages, static
files, nginx's own) are not checked; a test that sends deliberately
out-of-spec requests opts out with `unchecked()` or the `openapi_unchecked`
marker.
"""
import contextlib
import copy
import json
import os
import re
import threading
from urllib.parse import urlsplit

import warnings

from jsonschema import Draft202012Validator

with warnings.catch_warnings():  # deprecated from jsonschema 4.18 for `referencing`
    warnings.simplefilter("ignore", DeprecationWarning)
    from jsonschema import RefResolver

DOCUMENT = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "openapi.json")
JSON_TYPES = ("application/json", "application/problem+json")
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class Checker:
    def __init__(self, doc):
        self.doc = doc
        self.routes = []
        for template, item in doc.get("paths", {}).items():
            parts = re.split(r"(\{[^}/]+\})", template)
            pattern = "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
            # literal segments win over templated ones (/a/b before /a/{id})
            self.routes.append((template.count("{"), template, re.compile(pattern + "$"), item))
        self.routes.sort(key=lambda r: r[0])
        self.validators = {}
        self.closed = close_objects(copy.deepcopy(doc))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            self.resolver = RefResolver.from_schema(self.closed, id_of=lambda _: "")

    @classmethod
    def load(cls, path=DOCUMENT):
        with open(path) as f:
            return cls(json.load(f))

    def covers(self, path):
        """True for the paths the document speaks for: the API's and the
        service's own endpoints; pages and static files are not its."""
        return path.startswith("/api/") or path in self.doc.get("paths", {})

    def operation(self, method, path):
        """(template, operation object or None) of a request, or (None, None)
        when no path template matches."""
        method = method.lower()
        for _, template, regex, item in self.routes:
            if regex.match(path):
                op = item.get(method)
                if op is None and method == "head":
                    op = item.get("get")
                return template, op
        return None, None

    def validator(self, pointer):
        """The validator of the schema at pointer (in the closed document)."""
        v = self.validators.get(pointer)
        if v is None:
            v = Draft202012Validator(self.resolver.resolve_fragment(self.closed, pointer),
                                     resolver=self.resolver,
                                     format_checker=Draft202012Validator.FORMAT_CHECKER)
            self.validators[pointer] = v
        return v

    def check(self, method, url, status, headers, body):
        """Violations (strings) of one response. body is the bytes, or None
        when they were not read (a HEAD, a streamed response)."""
        path = urlsplit(url).path
        if not self.covers(path):
            return []
        where = f"{method} {path} -> {status}"
        template, op = self.operation(method, path)
        if template is None:
            return [f"{where}: no path of the document matches"]
        if op is None:
            return [f"{where}: {method} {template} is not a documented operation"]
        responses = op.get("responses", {})
        key = next((k for k in (str(status), f"{str(status)[0]}XX", "default")
                    if k in responses), None)
        if key is None:
            return [f"{where}: status {status} is not documented for {method} {template}"]
        op_pointer = "/paths/{}/{}".format(escape(template),
                                           "get" if method.upper() == "HEAD" else method.lower())
        response, at_response = self.resolve(responses[key], f"{op_pointer}/responses/{key}")
        where = f"{where} ({method} {template}, response {key})"
        problems = []
        for name, header in response.get("headers", {}).items():
            header, _ = self.resolve(header, None)
            if header.get("required") and name not in headers:
                problems.append(f"{where}: required header {name} is missing")
        content = response.get("content", {})
        media = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if method.upper() == "HEAD" or status == 304:
            return problems
        if not content:
            if body:
                problems.append(f"{where}: a body ({media}) where the document says none")
            return problems
        if media not in content:
            problems.append(f"{where}: Content-Type {media or '(none)'} is not one of "
                            f"{sorted(content)}")
            return problems
        schema = content[media].get("schema")
        if body is None or media not in JSON_TYPES or schema is None:
            return problems
        try:
            value = json.loads(body)
        except ValueError as e:
            return problems + [f"{where}: the {media} body is not JSON: {e}"]
        pointer = f"{at_response}/content/{escape(media)}/schema"
        for error in sorted(self.validator(pointer).iter_errors(value),
                            key=lambda e: [str(p) for p in e.absolute_path]):
            at = "/".join(str(p) for p in error.absolute_path) or "(the body)"
            problems.append(f"{where}: at {at}: {error.message}")
        return problems

    def resolve(self, obj, pointer):
        """A response or header object and its JSON pointer, following $refs."""
        while isinstance(obj, dict) and "$ref" in obj:
            pointer = obj["$ref"][1:]
            obj = self.doc
            for part in pointer.lstrip("/").split("/"):
                obj = obj[part.replace("~1", "/").replace("~0", "~")]
        return obj, pointer


def escape(part):
    return part.replace("~", "~0").replace("/", "~1")


SUBSCHEMAS = ("items", "additionalProperties", "not", "if", "then", "else", "contains")
COMPOSED = ("allOf", "anyOf", "oneOf")


def close_objects(doc):
    """doc with additionalProperties: false on every object schema that
    lists its properties and says nothing of others, except the parts of a
    composition and the components a composition names."""
    composed = set()

    def find_composed(node, inside=False):
        if isinstance(node, dict):
            if inside and isinstance(node.get("$ref"), str):
                composed.add(node["$ref"])
            for k, v in node.items():
                find_composed(v, inside or k in COMPOSED)
        elif isinstance(node, list):
            for v in node:
                find_composed(v, inside)

    def close(schema, closing=True):
        if not isinstance(schema, dict):
            return
        if (closing and isinstance(schema.get("properties"), dict)
                and not {"additionalProperties", "unevaluatedProperties",
                         "patternProperties"} & schema.keys()):
            schema["additionalProperties"] = False
        for v in schema.get("properties", {}).values():
            close(v)
        for k in SUBSCHEMAS:
            close(schema.get(k))
        for k in COMPOSED:
            for sub in schema.get(k, []):
                close(sub, closing=False)

    find_composed(doc)
    for item in doc.get("paths", {}).values():
        for method in METHODS:
            for response in item.get(method, {}).get("responses", {}).values():
                for media in response.get("content", {}).values():
                    close(media.get("schema"))
    schemas = doc.get("components", {}).get("schemas", {})
    for name, schema in schemas.items():
        close(schema, closing="#/components/schemas/" + escape(name) not in composed)
    return doc


# ---- what the tests' hook records --------------------------------------
_checker = None
_lock = threading.Lock()
violations = []
_unchecked = [0]


def checker():
    global _checker
    if _checker is None:
        _checker = Checker.load()
    return _checker


@contextlib.contextmanager
def unchecked():
    """Responses received inside this block are not checked: for requests
    that are deliberately outside the document (hostile input, a method a
    route does not have)."""
    with _lock:
        _unchecked[0] += 1
    try:
        yield
    finally:
        with _lock:
            _unchecked[0] -= 1


def record(response, streamed=False):
    """Checks one requests.Response and keeps what is wrong with it."""
    if _unchecked[0]:
        return
    request = response.request
    body = None if streamed else response.content
    found = checker().check(request.method, request.url, response.status_code,
                            response.headers, body)
    if found:
        with _lock:
            violations.extend(found)


def take():
    """The violations recorded so far, forgetting them."""
    with _lock:
        found = list(violations)
        violations.clear()
    return found


def install():
    """Checks every response any requests call receives (requests.get,
    requests.request, Sessions): all of them go through HTTPAdapter.send."""
    import requests.adapters
    adapter = requests.adapters.HTTPAdapter
    if getattr(adapter.send, "_openapi_checked", False):
        return
    original = adapter.send

    def send(self, request, stream=False, **kw):
        response = original(self, request, stream=stream, **kw)
        record(response, streamed=stream)
        return response

    send._openapi_checked = True
    adapter.send = send
