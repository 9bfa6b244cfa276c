"""The contract check can fail: tests/openapi/validate.py against docs/openapi.yaml.

Deliberately wrong responses (a missing field, a wrong type, an undescribed status, an
unknown path, an unknown member, a wrong code or content type) are rejected and right ones
accepted; the command fails with the request named; every route of dispatch.c is in the
description. Run with: /usr/bin/python3 -m unittest discover -s tests/openapi -p 'test_*.py'
"""
import contextlib
import io
import json
import os
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)

import validate  # noqa: E402

TS = "2026-12-04T10:00:00.123456Z"
USER = {"id": 7, "name": "Ada", "email": "ada@example.com", "role": "user",
        "stripeCustomerId": "cus_123", "isEmailVerified": False, "createdAt": TS}
PM = {"id": "pm_1", "type": "card", "brand": "visa", "last4": "4242", "expMonth": 12,
      "expYear": 2030, "funding": "credit", "isDefault": True}


def ok(data):
    return json.dumps({"success": True, "timestamp": TS, "data": data})


def fail(code, message="m", fields=None):
    e = {"code": code, "message": message}
    if fields is not None:
        e["fields"] = fields
    return json.dumps({"success": False, "timestamp": TS, "error": e})


def rec(method, path, status, body, ctype="application/json; charset=utf-8", query="",
        origin="http://127.0.0.1:8080"):
    return {"method": method, "origin": origin, "path": path, "query": query,
            "status": status, "content_type": ctype, "body": body}


class CheckTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.spec = validate.load_spec(os.path.join(TOP, "docs", "openapi.yaml"))

    def accepts(self, r):
        self.assertIsNone(self.spec.check(r))

    def rejects(self, r, words):
        problem = self.spec.check(r)
        self.assertIsNotNone(problem, "accepted: %r" % (r,))
        self.assertIn(words, problem)

    def test_right_answers_are_accepted(self):
        self.accepts(rec("GET", "/v1/healthz", 200,
                         ok({"status": "ok", "version": "0.1", "uptime_s": 3, "pid": 9})))
        self.accepts(rec("GET", "/v1/users/me", 200, ok({"user": USER, "subscription": None})))
        self.accepts(rec("GET", "/v1/users/12", 200, ok({"user": USER})))
        self.accepts(rec("POST", "/v1/users", 422,
                         fail("invalid_fields", fields={"email": "is required"})))
        self.accepts(rec("GET", "/v1/payments/customer/payment-methods", 200, ok([PM])))
        self.accepts(rec("GET", "/metrics", 200, "paybridge_up 1\n",
                         "text/plain; version=0.0.4; charset=utf-8"))

    def test_a_missing_field_is_rejected(self):
        user = dict(USER)
        del user["stripeCustomerId"]
        self.rejects(rec("GET", "/v1/users/me", 200, ok({"user": user, "subscription": None})),
                     "'stripeCustomerId' is a required property")

    def test_a_wrong_type_is_rejected(self):
        self.rejects(rec("GET", "/v1/users/me", 200,
                         ok({"user": dict(USER, id="7"), "subscription": None})),
                     "at data/user/id")

    def test_an_unknown_member_is_rejected(self):
        self.rejects(rec("GET", "/v1/users/me", 200,
                         ok({"user": dict(USER, password="x"), "subscription": None})),
                     "Additional properties")

    def test_an_undescribed_status_is_rejected(self):
        self.rejects(rec("GET", "/v1/healthz", 418, fail("teapot")),
                     "status 418 is not described for GET /v1/healthz")
        # The 422 of signup is described; the products list has no 409.
        self.rejects(rec("GET", "/v1/products", 409, fail("conflict")), "status 409")

    def test_a_code_the_status_does_not_have_is_rejected(self):
        self.rejects(rec("POST", "/v1/users", 409, fail("not_found")), "at error/code")
        self.rejects(rec("POST", "/v1/users", 422, fail("invalid_fields")),
                     "'fields' is a required property")

    def test_an_unknown_path_is_rejected_unless_it_is_a_404(self):
        self.rejects(rec("GET", "/v1/nothing", 200, ok({})), "(no such path)")
        self.accepts(rec("GET", "/v1/nothing", 404, fail("not_found")))
        self.rejects(rec("GET", "/v1/nothing", 404, ok({})), "404: at")

    def test_the_web_servers_errors_are_described_once_for_every_route(self):
        self.accepts(rec("GET", "/v1/healthz", 431, fail("request_header_too_large")))
        self.accepts(rec("GET", "/v1/nothing", 414, fail("uri_too_long"), "application/json"))
        self.rejects(rec("GET", "/v1/healthz", 431, fail("bad_request")), "at error/code")
        self.rejects(rec("GET", "/v1/healthz", 429, fail("too_many_requests")), "status 429")

    def test_a_required_header_must_be_there(self):
        busy = rec("GET", "/v1/readyz", 503, fail("database_unavailable"))
        busy["headers"] = "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\n\r\n"
        self.accepts(busy)
        busy["headers"] = "HTTP/1.1 503 Service Unavailable\r\nX-Request-Id: a\r\n\r\n"
        self.rejects(busy, "the Retry-After header is required and missing")
        wrong = rec("DELETE", "/v1/healthz", 405, fail("method_not_allowed"))
        wrong["headers"] = "HTTP/1.1 405 Method Not Allowed\r\n\r\n"
        self.rejects(wrong, "Allow header")

    def test_another_method_is_a_405(self):
        self.accepts(rec("PUT", "/v1/healthz", 405, fail("method_not_allowed")))
        self.rejects(rec("PUT", "/v1/healthz", 200, ok({})), "(no such operation)")

    def test_a_wrong_content_type_is_rejected(self):
        self.rejects(rec("GET", "/v1/healthz", 200, "ok", "text/html"), "Content-Type")
        self.rejects(rec("GET", "/v1/healthz", 200, "not json"), "not JSON")

    def test_literal_segments_win_and_head_is_get(self):
        # /v1/users/me is not /v1/users/{id} with id "me": its data has subscription.
        self.rejects(rec("GET", "/v1/users/me", 200, ok({"user": USER})), "subscription")
        self.accepts(rec("HEAD", "/v1/healthz", 200, ""))

    def test_emulator_and_test_routes_are_skipped_and_nothing_else(self):
        skip = {"http://127.0.0.1:9999"}
        self.assertTrue(validate.skipped(rec("GET", "/v1/customers", 200, "{}",
                                             origin="http://127.0.0.1:9999"), skip))
        self.assertTrue(validate.skipped(rec("GET", "/v1/test/sleep", 200, "{}"), skip))
        self.assertTrue(validate.skipped(rec("DELETE", "/_paybridge/publish/payments/intents/pi_1",
                                             200, "queued messages: 1", "text/plain"), skip))
        self.assertFalse(validate.skipped(rec("GET", "/v1/healthz", 200, "{}"), skip))
        self.assertFalse(validate.skipped(rec("GET", "/v1/test", 200, "{}"), skip))


class CommandTest(unittest.TestCase):
    def run_main(self, records, *args):
        with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
            for r in records:
                f.write(json.dumps(r) + "\n")
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                rc = validate.main(list(args) + [f.name])
        finally:
            os.unlink(f.name)
        return rc, out.getvalue()

    def test_a_mismatch_fails_the_run_and_names_the_request(self):
        rc, out = self.run_main([
            rec("GET", "/v1/healthz", 200,
                ok({"status": "ok", "version": "0.1", "uptime_s": 3, "pid": 9})),
            rec("GET", "/v1/products", 200, ok({"items": [], "hasMore": "no",
                                                 "nextCursor": None}), query="limit=5"),
        ])
        self.assertEqual(rc, 1)
        self.assertIn("MISMATCH GET /v1/products?limit=5 -> 200", out)
        self.assertIn("at data/hasMore", out)
        self.assertIn("2 responses checked", out)

    def test_right_records_pass(self):
        rc, out = self.run_main([
            rec("GET", "/v1/products", 200, ok({"items": [], "hasMore": False,
                                                 "nextCursor": None})),
            rec("GET", "/v1/customers/cus_1", 200, "{}", origin="http://127.0.0.1:9"),
        ], "--skip-origin", "http://127.0.0.1:9/")
        self.assertEqual(rc, 0, out)
        self.assertIn("1 responses checked", out)
        self.assertIn("1 skipped", out)

    def test_every_route_of_dispatch_is_described(self):
        rc, out = self.run_main([], "--routes", os.path.join(TOP, "src/handlers/dispatch.c"))
        self.assertEqual(rc, 0, out)
        routes = validate.dispatch_routes(os.path.join(TOP, "src/handlers/dispatch.c"))
        self.assertGreater(len(routes), 30)
        self.assertNotIn(("GET", "/v1/test/sleep"), routes)

    def test_a_route_missing_from_the_description_fails(self):
        with tempfile.NamedTemporaryFile("w", suffix=".c", delete=False) as f:
            f.write('\t{ HTTP_GET, "/v1/healthz", handle_healthz, 0, "healthz" },\n'
                    '\t{ HTTP_POST, "/v1/refunds", handle_x, 0, "x" },\n')
        try:
            rc, out = self.run_main([], "--routes", f.name)
        finally:
            os.unlink(f.name)
        self.assertEqual(rc, 1)
        self.assertIn("POST /v1/refunds is a route", out)


if __name__ == "__main__":
    unittest.main()
