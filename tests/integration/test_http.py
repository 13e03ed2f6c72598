"""Requests and responses through nginx and the pool."""
import gzip
import http.client
import json
import os
import subprocess

import pytest
import requests

from conftest import ROOT, assert_problem, request_log, stackmod, worker_pids

SECURITY_HEADERS = ["Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy",
                    "X-Frame-Options"]


def test_readyz_through_nginx_reports_the_schema_version(stack):
    r = requests.get(stack.url + "/readyz")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"
    body = r.json()
    assert body["status"] == "ready"
    assert body["schema_version"] == body["expected_version"] >= 1
    assert body["reads"] == "primary"  # this stack has no read standby


def test_healthz_names_the_worker_that_answered(stack):
    body = requests.get(stack.url + "/healthz").json()
    assert body["status"] == "alive"
    assert body["pid"] in worker_pids(stack)


@pytest.mark.openapi_unchecked  # a path or method outside the API
def test_unknown_api_path_is_a_404_problem_from_the_pool(stack):
    r = requests.get(stack.url + "/api/no-such-thing")
    body = assert_problem(r, 404, "not-found")
    assert body["request_id"] == r.headers["X-Request-Id"]
    assert len(body["request_id"]) == 32


@pytest.mark.openapi_unchecked  # a path or method outside the API
def test_wrong_method_is_405_with_allow(stack):
    r = requests.post(stack.url + "/healthz", json={})
    assert_problem(r, 405, "method-not-allowed")
    assert r.headers["Allow"] == "GET, HEAD"


def test_head_gets_headers_without_a_body(stack):
    r = requests.head(stack.url + "/healthz")
    assert r.status_code == 200
    assert r.content == b""
    assert int(r.headers["Content-Length"]) > 0


@pytest.mark.openapi_unchecked  # a path or method outside the API
def test_security_headers_are_on_every_kind_of_response(stack):
    responses = [
        requests.get(stack.url + "/readyz"),                  # pool, 200
        requests.get(stack.url + "/api/nope"),                # pool, 404
        requests.get(stack.url + "/no-such-page.html"),       # nginx, 404
        requests.get(stack.url + "/static/portal.css"),       # static asset
        requests.get(stack.url + "/"),                        # page
    ]
    for r in responses:
        for h in SECURITY_HEADERS:
            assert h in r.headers, (r.url, r.status_code, h)
        assert "default-src 'self'" in r.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
        assert r.headers["X-Content-Type-Options"] == "nosniff"


def test_nginx_own_errors_are_problem_json(stack):
    assert_problem(requests.get(stack.url + "/no-such-page.html"), 404, "not-found")


def test_static_assets_are_cached_for_a_year(stack):
    r = requests.get(stack.url + "/static/portal.css")
    assert r.status_code == 200
    assert "max-age=31536000" in r.headers["Cache-Control"]
    assert "immutable" in r.headers["Cache-Control"]


def test_text_responses_are_compressed(stack):
    r = requests.get(stack.url + "/metrics", headers={"Accept-Encoding": "gzip"}, stream=True)
    assert r.headers.get("Content-Encoding") == "gzip"
    assert b"portal_requests_total" in gzip.decompress(r.raw.read())


def test_metrics_are_prometheus_text_on_loopback(stack):
    r = requests.get(stack.url + "/metrics")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/plain; charset=utf-8; version=0.0.4"
    for name in ["portal_requests_total", "portal_requests_in_flight",
                 "portal_request_duration_seconds_bucket", "portal_worker_restarts_total",
                 "portal_responses_total", "portal_worker_resident_bytes"]:
        assert name in r.text


def test_metrics_are_refused_to_other_addresses(stack):
    # 127.0.0.2 is loopback to the kernel but not an address nginx allows
    conn = http.client.HTTPConnection("127.0.0.1", stack.http_port, timeout=5,
                                      source_address=("127.0.0.2", 0))
    conn.request("GET", "/metrics")
    r = conn.getresponse()
    body = json.loads(r.read())
    assert r.status == 403
    assert r.getheader("Content-Type").startswith("application/problem+json")
    assert body["type"] == "/problems/forbidden"


@pytest.mark.openapi_unchecked  # a path or method outside the API
def test_oversized_body_is_413_problem_before_the_pool(stack):
    before = worker_pids(stack)
    r = requests.post(stack.url + "/api/anything", data=b"x" * (2 * 1024 * 1024),
                      headers={"Content-Type": "application/json"})
    assert_problem(r, 413, "body-too-large")
    assert worker_pids(stack) == before  # every worker still alive


def test_every_log_line_is_one_json_object_with_request_fields(stack):
    r = requests.get(stack.url + "/healthz", headers={"X-Trace": "x"})
    line = request_log(stack, r.headers["X-Request-Id"])
    for key in ["time", "level", "pid", "worker", "duration_ms"]:
        assert key in line, line
    assert (line["method"], line["path"], line["route"], line["status"]) == \
        ("GET", "/healthz", "/healthz", 200)
    assert line["pid"] == r.json()["pid"] and line["worker"] == r.json()["worker"]
    with open(stack.pool_log) as f:
        for raw in f:
            json.loads(raw)  # every line parses


@pytest.mark.openapi_unchecked  # a path or method outside the API
def test_request_id_from_nginx_reaches_the_log(stack):
    # nginx makes the id ($request_id, passed as REQUEST_ID): one a client sends
    # is not the one the response and the log carry
    r = requests.get(stack.url + "/api/nope", headers={"X-Request-Id": "chosen-by-the-client"})
    rid = r.headers["X-Request-Id"]
    assert len(rid) == 32 and rid != "chosen-by-the-client"
    assert r.json()["request_id"] == rid
    line = request_log(stack, rid)
    assert (line["path"], line["status"], line["problem"]) == ("/api/nope", 404, "not-found")


def test_openapi_document_and_router_agree():
    routes = json.loads(subprocess.run(
        [os.path.join(stackmod.build_dir(), "portald"), "--print-routes"],
        capture_output=True, text=True, check=True).stdout)
    with open(os.path.join(ROOT, "openapi.json")) as f:
        doc = json.load(f)
    assert doc["openapi"].startswith("3.1")
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops
                  if m in ("get", "post", "put", "patch", "delete")}
    served = {(r["method"], r["pattern"].replace(":int}", "}").replace(":slug}", "}"))
              for r in routes}
    assert documented == served


def test_bad_configuration_is_refused_with_one_line():
    res = subprocess.run([os.path.join(stackmod.build_dir(), "portald"), "--workers", "0"],
                         capture_output=True, text=True)
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1
    assert "workers" in res.stderr and "from 1 to 128" in res.stderr


def test_make_install_honours_prefix_and_destdir(tmp_path):
    dest = tmp_path / "root"
    build = stackmod.build_dir()
    res = subprocess.run(["make", "-s", "-C", ROOT, "install", f"DESTDIR={dest}",
                          "PREFIX=/opt/portal", f"BUILD={build}",
                          "SANITIZE=1" if "sanitize" in build else "SANITIZE="],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    prefix = dest / "opt" / "portal"
    for name in ("bin/portald", "bin/portalctl", "share/portal/openapi.json",
                 "share/portal/bootstrap.sql", "share/portal/nginx/portal.conf"):
        assert (prefix / name).exists(), name
    # the installed binaries are self-contained: the SQL is inside them
    out = subprocess.run([str(prefix / "bin" / "portald"), "--help"], capture_output=True,
                         text=True, cwd=tmp_path)
    assert out.returncode == 0 and "--jwt-keys" in out.stdout
    out = subprocess.run([str(prefix / "bin" / "portalctl"), "--help"], capture_output=True,
                         text=True, cwd=tmp_path)
    assert "migrate" in out.stdout + out.stderr
