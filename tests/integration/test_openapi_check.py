"""The response check itself (openapi_check.py): that it can fail, so its
silence over the other suites means something."""
import copy
import json

import requests
from requests.structures import CaseInsensitiveDict

import openapi_check

JSON = CaseInsensitiveDict({"Content-Type": "application/json"})
PROBLEM = CaseInsensitiveDict({"Content-Type": "application/problem+json"})


def check(method, path, status, headers, body):
    return openapi_check.checker().check(method, "http://127.0.0.1:1" + path, status, headers,
                                         json.dumps(body).encode())


def test_a_response_as_documented_passes():
    assert check("GET", "/healthz", 200, JSON, {"status": "alive", "pid": 7, "worker": 0}) == []


def test_a_missing_required_field_is_reported():
    found = check("GET", "/healthz", 200, JSON, {"status": "alive", "pid": 7})
    assert len(found) == 1 and "'worker' is a required property" in found[0], found


def test_a_field_of_the_wrong_type_inside_a_referenced_schema_is_reported():
    found = check("GET", "/api/streets/3", 401, PROBLEM,
                  {"type": "/problems/unauthorized", "title": "Sign-in required",
                   "title_zh": "需要登录", "status": "401"})
    assert len(found) == 1 and "at status" in found[0], found


def test_a_field_the_document_does_not_name_is_reported():
    found = check("GET", "/healthz", 200, JSON,
                  {"status": "alive", "pid": 7, "worker": 0, "uptime": 3})
    assert len(found) == 1 and "'uptime' was unexpected" in found[0], found


def test_a_shared_response_is_checked_through_its_reference():
    found = check("GET", "/api/streets", 503, PROBLEM,
                  {"type": "/problems/service-unavailable", "title": "x", "status": 503})
    assert len(found) == 1 and "'title_zh' is a required property" in found[0], found


def test_a_required_header_is_checked():
    found = check("GET", "/api/cases/1", 304, JSON, "")
    assert len(found) == 1 and "required header ETag is missing" in found[0], found


def test_an_undocumented_status_route_or_media_type_is_reported():
    assert "not documented" in check("GET", "/healthz", 418, JSON, {})[0]
    assert "no path of the document" in check("GET", "/api/no-such-thing", 404, PROBLEM, {})[0]
    assert "not a documented operation" in check("POST", "/healthz", 405, PROBLEM, {})[0]
    found = check("GET", "/healthz", 200, CaseInsensitiveDict({"Content-Type": "text/html"}),
                  {"status": "alive", "pid": 7, "worker": 0})
    assert "Content-Type text/html" in found[0], found


def test_pages_and_static_files_are_not_the_documents():
    assert check("GET", "/static/portal.css", 200, JSON, {}) == []
    assert check("GET", "/no-such-page.html", 404, PROBLEM, {}) == []


def test_the_hook_sees_real_responses(stack, monkeypatch):
    strict = copy.deepcopy(openapi_check.checker().doc)
    schema = strict["paths"]["/healthz"]["get"]["responses"]["200"]["content"][
        "application/json"]["schema"]
    schema["required"].append("uptime")
    monkeypatch.setattr(openapi_check, "_checker", openapi_check.Checker(strict))
    requests.get(stack.url + "/healthz", timeout=10)
    found = openapi_check.take()
    assert len(found) == 1 and "'uptime' is a required property" in found[0], found
    with openapi_check.unchecked():
        requests.get(stack.url + "/healthz", timeout=10)
    assert openapi_check.take() == []


def test_refusals_only_the_document_names_answer_as_it_says(stack):
    # each response passes through the check; these statuses are in the
    # document for these operations although no other test meets them
    r = requests.get(stack.url + "/api/photos/" + "0" * 64, timeout=10,
                     headers={"Authorization": "Bearer not-a-token"})
    assert r.status_code == 401
    big = b"x" * (2 * 1024 * 1024)
    r = requests.post(stack.url + "/api/auth/logout", data=big, timeout=10)
    assert r.status_code == 413
    r = requests.get(stack.url + "/healthz", data=big, timeout=10)
    assert r.status_code == 413
