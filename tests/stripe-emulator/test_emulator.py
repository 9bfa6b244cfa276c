"""Tests for the Stripe emulator.  Standard library only.

Run from the repository root:
    /usr/bin/python3 -m unittest discover -s tests/stripe-emulator -p 'test_*.py' -v
"""
import base64
import hashlib
import hmac
import http.client
import http.server
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
import emulator  # noqa: E402

KEY = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"
SECRET = "whsec_test_secret"


def enc(pairs):
    """pairs: list of (bracketed key, value) or a flat dict."""
    if isinstance(pairs, dict):
        pairs = list(pairs.items())
    return urllib.parse.urlencode(pairs)


class Receiver:
    """A tiny webhook endpoint that records what it gets."""

    def __init__(self):
        self.got = []
        self.statuses = []          # statuses to answer, in order; then 200
        self.cv = threading.Condition()
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                with outer.cv:
                    st = outer.statuses.pop(0) if outer.statuses else 200
                    outer.got.append({"headers": {k.lower(): v for k, v in self.headers.items()},
                                      "body": body, "answered": st})
                    outer.cv.notify_all()
                self.send_response(st)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.srv.daemon_threads = True
        self.url = "http://127.0.0.1:%d/webhook" % self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def wait(self, n, timeout=5.0):
        end = time.monotonic() + timeout
        with self.cv:
            while len(self.got) < n and time.monotonic() < end:
                self.cv.wait(0.05)
            return list(self.got)

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


def verify(secret, header, body, tolerance=300, now=None):
    parts = dict(p.split("=", 1) for p in header.split(","))
    ts = int(parts["t"])
    want = hmac.new(secret.encode(), b"%d." % ts + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(want, parts["v1"]):
        return False
    return abs((now or time.time()) - ts) <= tolerance


class EmulatorTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = emulator.make_server("127.0.0.1", 0)
        cls.port = cls.srv.port
        cls.thread = threading.Thread(target=cls.srv.serve_forever, kwargs={"poll_interval": 0.1},
                                      daemon=True)
        cls.thread.start()

    @classmethod
    def tearDownClass(cls):
        emulator.stop_server(cls.srv)

    def setUp(self):
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        self.control("POST", "/reset", {"webhook_url": "", "webhook_secret": ""})
        self.receiver = None

    def tearDown(self):
        self.conn.close()
        if self.receiver:
            self.receiver.close()

    # -- helpers ---------------------------------------------------------------
    def raw(self, method, path, body=None, headers=None, key=KEY):
        h = {"Content-Type": "application/x-www-form-urlencoded"} if body is not None else {}
        if key:
            h["Authorization"] = "Bearer " + key
        h.update(headers or {})
        self.conn.request(method, path, body=body, headers=h)
        r = self.conn.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data

    def api(self, method, path, params=None, headers=None, key=KEY, expect=None):
        body = None
        if params is not None and method == "GET":
            path += "?" + enc(params)
        elif params is not None:
            body = enc(params)
        elif method == "POST":
            body = ""
        st, h, data = self.raw(method, path, body, headers, key)
        obj = json.loads(data.decode("utf-8"))
        if expect is not None:
            self.assertEqual(st, expect, obj)
        return st, obj, h

    def ok(self, method, path, params=None, headers=None):
        return self.api(method, path, params, headers, expect=200)[1]

    def err(self, method, path, params=None, status=400, headers=None, key=KEY):
        st, obj, h = self.api(method, path, params, headers, key)
        self.assertEqual(st, status, obj)
        self.assertIn("error", obj)
        return obj["error"]

    def control_status(self, method, path, body=None, query=""):
        data = json.dumps(body).encode() if body is not None else None
        self.conn.request(method, "/_emulator" + path + (("?" + query) if query else ""),
                          body=data, headers={"Content-Type": "application/json"} if data else {})
        r = self.conn.getresponse()
        return r.status, json.loads(r.read().decode("utf-8"))

    def control(self, method, path, body=None, query=""):
        st, obj = self.control_status(method, path, body, query)
        self.assertLess(st, 300, obj)
        return obj

    def objects(self, kind):
        return self.control("GET", "/objects/" + kind)["data"]

    def events(self, type_=None):
        evs = self.objects("events")
        return [e for e in evs if type_ is None or e["type"] == type_]

    def webhook(self, **kw):
        self.receiver = Receiver()
        cfg = {"url": self.receiver.url, "secret": SECRET, "retry_delays": [0.05, 0.1]}
        cfg.update(kw)
        self.control("POST", "/webhooks", cfg)
        return self.receiver

    def customer(self, **params):
        params.setdefault("email", "jenny@example.com")
        return self.ok("POST", "/v1/customers", params)

    # -- auth ------------------------------------------------------------------
    def test_auth(self):
        e = self.err("GET", "/v1/customers", key=None, status=401)
        self.assertEqual(e["type"], "invalid_request_error")
        self.assertIn("did not provide an API key", e["message"])
        self.err("GET", "/v1/customers", key="sk_live_nope", status=401)
        self.err("GET", "/v1/customers", key="pk_test_abc", status=401)
        self.ok("GET", "/v1/customers")
        basic = base64.b64encode((KEY + ":").encode()).decode()
        st, h, _ = self.raw("GET", "/v1/customers", headers={"Authorization": "Basic " + basic},
                            key=None)
        self.assertEqual(st, 200)
        self.assertTrue(h["request-id"].startswith("req_"))
        reqs = self.control("GET", "/requests")["data"]
        self.assertEqual(reqs[0]["headers"].get("authorization", "x"), "x")  # no header sent
        self.assertEqual(reqs[1]["headers"]["authorization"], "Bearer sk_live_…")
        self.assertEqual(reqs[-1]["headers"]["authorization"], "Basic sk_test_…")
        self.assertEqual(reqs[-2]["headers"]["authorization"], "Bearer sk_test_…")
        self.assertEqual(reqs[0]["status"], 401)

    def test_unknown_path_and_id(self):
        e = self.err("GET", "/v1/nothing", status=404)
        self.assertIn("Unrecognized request URL", e["message"])
        self.err("PUT", "/v1/customers", status=404)
        e = self.err("GET", "/v1/customers/cus_missing", status=404)
        self.assertEqual((e["code"], e["param"]), ("resource_missing", "id"))
        e = self.err("POST", "/v1/payment_methods/pm_nope/attach", {"customer": "cus_x"},
                     status=404)
        self.assertEqual(e["param"], "payment_method")
        e = self.err("POST", "/v1/payment_intents", {"amount": 100, "currency": "usd",
                                                     "customer": "cus_gone"})
        self.assertEqual((e["code"], e["param"]), ("resource_missing", "customer"))

    # -- validation --------------------------------------------------------------
    def test_unknown_parameter(self):
        e = self.err("POST", "/v1/customers", {"email": "a@b.c", "favourite_colour": "red"})
        self.assertEqual(e, {**e, "code": "parameter_unknown", "param": "favourite_colour",
                             "message": "Received unknown parameter: favourite_colour",
                             "type": "invalid_request_error"})
        e = self.err("POST", "/v1/customers", [("invoice_settings[nope]", "1")])
        self.assertEqual(e["param"], "invoice_settings[nope]")
        e = self.err("GET", "/v1/customers", {"bogus": "1"})
        self.assertEqual(e["param"], "bogus")
        e = self.err("POST", "/v1/checkout/sessions", [
            ("mode", "payment"), ("success_url", "https://x/s"),
            ("line_items[0][price]", "price_1"), ("line_items[0][quantity]", "1"),
            ("line_items[0][colour]", "red")])
        self.assertEqual(e["param"], "line_items[0][colour]")
        self.assertEqual(self.objects("customers"), [])

    def test_wrong_types(self):
        e = self.err("POST", "/v1/payment_intents", {"amount": "12.5", "currency": "usd"})
        self.assertEqual((e["code"], e["param"]), ("parameter_invalid_integer", "amount"))
        e = self.err("POST", "/v1/payment_intents", {"amount": "", "currency": "usd"})
        self.assertEqual((e["code"], e["param"]), ("parameter_invalid_empty", "amount"))
        e = self.err("POST", "/v1/payment_intents", {"amount": 100, "currency": "usd",
                                                     "confirm": "yes"})
        self.assertEqual(e["param"], "confirm")
        self.assertIn("Invalid boolean", e["message"])
        e = self.err("POST", "/v1/checkout/sessions", {"mode": "rent", "success_url": "https://x"})
        self.assertEqual(e["param"], "mode")
        self.assertIn("must be one of", e["message"])
        e = self.err("POST", "/v1/customers", {"invoice_settings": "pm_123"})
        self.assertEqual(e["param"], "invoice_settings")
        e = self.err("POST", "/v1/customers", [("email[x]", "a")])
        self.assertEqual(e["param"], "email")
        e = self.err("GET", "/v1/customers", {"limit": "ten"})
        self.assertEqual((e["code"], e["param"]), ("parameter_invalid_integer", "limit"))
        e = self.err("GET", "/v1/customers", {"limit": "0"})
        self.assertEqual(e["param"], "limit")
        e = self.err("POST", "/v1/checkout/sessions", [
            ("mode", "payment"), ("success_url", "https://x"),
            ("line_items[0][price_data][currency]", "usd"),
            ("line_items[0][price_data][unit_amount]", "x1"), ("line_items[0][quantity]", "1")])
        self.assertEqual(e["param"], "line_items[0][price_data][unit_amount]")
        # anyOf with "" unsets: metadata= and address= are fine
        c = self.customer(**{"metadata[a]": "1", "metadata[b]": "2"})
        c2 = self.ok("POST", "/v1/customers/" + c["id"], [("metadata[a]", ""), ("address", "")])
        self.assertEqual(c2["metadata"], {"b": "2"})
        c3 = self.ok("POST", "/v1/customers/" + c["id"], {"metadata": ""})
        self.assertEqual(c3["metadata"], {})

    def test_required_missing(self):
        e = self.err("POST", "/v1/payment_intents", {"currency": "usd"})
        self.assertEqual((e["code"], e["param"]), ("parameter_missing", "amount"))
        self.assertEqual(e["message"], "Missing required param: amount.")
        e = self.err("GET", "/v1/customers/search")
        self.assertEqual((e["code"], e["param"]), ("parameter_missing", "query"))
        e = self.err("POST", "/v1/billing_portal/sessions", {})
        self.assertEqual(e["param"], "customer")
        e = self.err("POST", "/v1/checkout/sessions", [
            ("mode", "payment"), ("success_url", "https://x"),
            ("line_items[0][price_data][unit_amount]", "100"),
            ("line_items[0][price_data][product_data][name]", "T"),
            ("line_items[0][quantity]", "1")])
        self.assertEqual((e["code"], e["param"]),
                         ("parameter_missing", "line_items[0][price_data][currency]"))

    def test_bracket_and_percent_decoding(self):
        # Keys are percent-decoded before the brackets are parsed (like Rack), so an
        # encoded %5B/%5D in a key is a bracket; values may contain anything.
        weird_key = "k&=%+ é.x"
        weird_val = "a&b=c [d] 100% 1+1 two\nlines 😀 ünïcode"
        body = "email=x%2By%40example.com&name=Ann+Lee&" + urllib.parse.urlencode(
            [("metadata[%s]" % weird_key, weird_val)]) + "&metadata%5Buser_id%5D=42&expand[]=" \
            "invoice_settings.default_payment_method"
        st, h, data = self.raw("POST", "/v1/customers", body)
        self.assertEqual(st, 200, data)
        c = json.loads(data)
        self.assertEqual(c["email"], "x+y@example.com")
        self.assertEqual(c["name"], "Ann Lee")
        self.assertEqual(c["metadata"], {weird_key: weird_val, "user_id": "42"})
        self.assertIn("😀".encode(), data)  # raw UTF-8 in the response, like Stripe
        got = self.ok("GET", "/v1/customers/" + c["id"])
        self.assertEqual(got["metadata"][weird_key], weird_val)
        req = self.control("GET", "/requests", query="path=/v1/customers&method=POST")["data"][-1]
        self.assertEqual(req["form"], body)
        self.assertEqual(req["params"]["metadata"][weird_key], weird_val)
        self.assertEqual(req["params"]["expand"], ["invoice_settings.default_payment_method"])
        # arrays: indexed and [] forms
        cs = self.ok("POST", "/v1/checkout/sessions", [
            ("mode", "payment"), ("success_url", "https://x/ok?a=1&b=2"),
            ("line_items[1][price_data][currency]", "usd"),
            ("line_items[1][price_data][unit_amount]", "250"),
            ("line_items[1][price_data][product_data][name]", "B & C"),
            ("line_items[1][quantity]", "2"),
            ("line_items[0][price_data][currency]", "usd"),
            ("line_items[0][price_data][unit_amount]", "1000"),
            ("line_items[0][price_data][product_data][name]", "A"),
            ("line_items[0][quantity]", "1"),
            ("payment_method_types[]", "card"), ("expand[]", "line_items")])
        self.assertEqual(cs["amount_total"], 1500)
        self.assertEqual(cs["success_url"], "https://x/ok?a=1&b=2")
        self.assertEqual([li["quantity"] for li in cs["line_items"]["data"]], [1, 2])
        self.assertEqual(cs["line_items"]["data"][1]["description"], "B & C")

    # -- idempotency -------------------------------------------------------------
    def test_idempotent_replay(self):
        h = {"Idempotency-Key": "key-1"}
        body = enc({"email": "a@example.com", "metadata[user_id]": "7"})
        s1, h1, d1 = self.raw("POST", "/v1/customers", body, h)
        s2, h2, d2 = self.raw("POST", "/v1/customers", body, h)
        self.assertEqual((s1, s2), (200, 200))
        self.assertEqual(d1, d2)
        self.assertNotIn("idempotent-replayed", h1)
        self.assertEqual(h2["idempotent-replayed"], "true")
        self.assertEqual(h2["original-request"], h1["request-id"])
        self.assertNotEqual(h2["request-id"], h1["request-id"])
        # same params in another order are the same parameters
        body_b = enc([("metadata[user_id]", "7"), ("email", "a@example.com")])
        s3, h3, d3 = self.raw("POST", "/v1/customers", body_b, h)
        self.assertEqual((s3, d3), (200, d1))
        self.assertEqual(len(self.objects("customers")), 1)
        self.assertEqual(len(self.events("customer.created")), 1)
        ev = self.events("customer.created")[0]
        self.assertEqual(ev["request"], {"id": h1["request-id"], "idempotency_key": "key-1"})
        # errors are replayed too (402 decline)
        h = {"Idempotency-Key": "key-2"}
        body = enc({"amount": 500, "currency": "usd", "confirm": "true",
                    "payment_method": "pm_card_chargeDeclined"})
        s1, _, d1 = self.raw("POST", "/v1/payment_intents", body, h)
        s2, h2, d2 = self.raw("POST", "/v1/payment_intents", body, h)
        self.assertEqual((s1, s2), (402, 402))
        self.assertEqual(d1, d2)
        self.assertEqual(h2["idempotent-replayed"], "true")
        self.assertEqual(len(self.objects("payment_intents")), 1)

    def test_idempotency_mismatch_and_validation_not_stored(self):
        h = {"Idempotency-Key": "key-m"}
        self.ok("POST", "/v1/customers", {"email": "a@example.com"}, h)
        e = self.err("POST", "/v1/customers", {"email": "b@example.com"}, headers=h)
        self.assertEqual(e["type"], "idempotency_error")
        self.assertIn("same parameters", e["message"])
        e = self.err("POST", "/v1/payment_intents", {"amount": 100, "currency": "usd"}, headers=h)
        self.assertEqual(e["type"], "idempotency_error")
        # a request that fails validation is not stored: the key stays usable
        h = {"Idempotency-Key": "key-v"}
        self.err("POST", "/v1/customers", {"email": "c@example.com", "bogus": "1"}, headers=h)
        c = self.ok("POST", "/v1/customers", {"email": "d@example.com"}, h)
        self.assertEqual(c["email"], "d@example.com")
        # GET ignores idempotency keys
        self.ok("GET", "/v1/customers", headers=h)

    def test_idempotency_expiry(self):
        h = {"Idempotency-Key": "key-exp"}
        c1 = self.ok("POST", "/v1/customers", {"email": "a@example.com"}, h)
        self.control("POST", "/clock", {"advance_seconds": 23 * 3600})
        self.assertEqual(self.ok("POST", "/v1/customers", {"email": "a@example.com"}, h)["id"],
                         c1["id"])
        now = self.control("POST", "/clock", {"advance_seconds": 3601})["now"]
        c2 = self.ok("POST", "/v1/customers", {"email": "a@example.com"}, h)
        self.assertNotEqual(c2["id"], c1["id"])
        self.assertGreaterEqual(c2["created"], now)
        self.assertAlmostEqual(self.control("GET", "/clock")["now"], time.time() + 86401, delta=5)

    def test_idempotency_in_flight(self):
        self.control("POST", "/faults", {"method": "POST", "path": "/v1/customers",
                                         "kind": "latency", "ms": 600})
        h = {"Idempotency-Key": "key-f"}
        result = {}

        def slow():
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            c.request("POST", "/v1/customers", "email=a%40b.c",
                      {"Authorization": "Bearer " + KEY, "Idempotency-Key": "key-f",
                       "Content-Type": "application/x-www-form-urlencoded"})
            r = c.getresponse()
            result["status"] = r.status
            result["body"] = r.read()
            c.close()
        t = threading.Thread(target=slow)
        t.start()
        time.sleep(0.2)
        e = self.err("POST", "/v1/customers", {"email": "a@b.c"}, status=409, headers=h)
        self.assertEqual((e["type"], e["code"]), ("idempotency_error", "idempotency_key_in_use"))
        t.join()
        self.assertEqual(result["status"], 200)
        s, hh, d = self.raw("POST", "/v1/customers", "email=a%40b.c", h)
        self.assertEqual((s, d), (200, result["body"]))

    # -- customers ---------------------------------------------------------------
    def test_customers(self):
        a = self.customer(email="a@example.com", name="A", **{"metadata[user_id]": "42"})
        self.assertTrue(a["id"].startswith("cus_") and len(a["id"]) == 18)
        b = self.customer(email="b@example.com", **{"metadata[user_id]": "43"})
        c = self.customer(email="a@example.com", **{"metadata[user_id]": "44"})
        self.assertEqual(self.ok("GET", "/v1/customers/" + a["id"]), a)
        # update -> customer.updated with previous_attributes
        u = self.ok("POST", "/v1/customers/" + a["id"], {"name": "Ann", "metadata[plan]": "pro"})
        self.assertEqual(u["metadata"], {"user_id": "42", "plan": "pro"})
        ev = self.events("customer.updated")[-1]
        self.assertEqual(ev["data"]["previous_attributes"], {"metadata": {"plan": None},
                                                             "name": "A"})
        # search
        r = self.ok("GET", "/v1/customers/search", {"query": "metadata['user_id']:'42'"})
        self.assertEqual((r["object"], [x["id"] for x in r["data"]], r["has_more"], r["next_page"]),
                         ("search_result", [a["id"]], False, None))
        r = self.ok("GET", "/v1/customers/search", {"query": 'email:"a@example.com"', "limit": 1})
        self.assertEqual(len(r["data"]), 1)
        self.assertTrue(r["has_more"])
        r2 = self.ok("GET", "/v1/customers/search", {"query": "email:'a@example.com'",
                                                     "limit": 1, "page": r["next_page"]})
        self.assertEqual({r["data"][0]["id"], r2["data"][0]["id"]}, {a["id"], c["id"]})
        self.assertFalse(r2["has_more"])
        r = self.ok("GET", "/v1/customers/search",
                    {"query": "email:'a@example.com' AND metadata['user_id']:'44'"})
        self.assertEqual([x["id"] for x in r["data"]], [c["id"]])
        e = self.err("GET", "/v1/customers/search", {"query": "colour:'red'"})
        self.assertEqual(e["param"], "query")
        self.err("GET", "/v1/customers/search", {"query": "email:'unterminated"})
        # list by email, newest first, pagination
        r = self.ok("GET", "/v1/customers", {"email": "a@example.com", "limit": 1})
        self.assertEqual((r["object"], r["url"], r["has_more"]), ("list", "/v1/customers", True))
        self.assertEqual(r["data"][0]["id"], c["id"])
        r = self.ok("GET", "/v1/customers", {"email": "a@example.com", "limit": 1,
                                             "starting_after": c["id"]})
        self.assertEqual(([x["id"] for x in r["data"]], r["has_more"]), ([a["id"]], False))
        r = self.ok("GET", "/v1/customers", {"limit": 10})
        self.assertEqual([x["id"] for x in r["data"]], [c["id"], b["id"], a["id"]])
        # delete
        d = self.ok("DELETE", "/v1/customers/" + b["id"])
        self.assertEqual(d, {"deleted": True, "id": b["id"], "object": "customer"})
        self.assertEqual(self.ok("GET", "/v1/customers/" + b["id"]),
                         {"deleted": True, "id": b["id"], "object": "customer"})
        self.err("POST", "/v1/customers/" + b["id"], {"name": "x"}, status=404)
        self.err("DELETE", "/v1/customers/" + b["id"], status=404)
        r = self.ok("GET", "/v1/customers/search", {"query": "metadata['user_id']:'43'"})
        self.assertEqual(r["data"], [])
        self.assertEqual(len(self.ok("GET", "/v1/customers")["data"]), 2)
        allc = self.objects("customers")
        self.assertEqual([x.get("deleted", False) for x in allc], [False, True, False])
        self.assertEqual(allc[1]["metadata"], {"user_id": "43"})
        self.assertEqual(len(self.events("customer.deleted")), 1)

    def test_search_lag(self):
        self.control("POST", "/config", {"search_lag_s": 0.3})
        self.customer(**{"metadata[user_id]": "9"})
        q = {"query": "metadata['user_id']:'9'"}
        self.assertEqual(self.ok("GET", "/v1/customers/search", q)["data"], [])
        time.sleep(0.35)
        self.assertEqual(len(self.ok("GET", "/v1/customers/search", q)["data"]), 1)

    # -- payment methods -----------------------------------------------------------
    def test_payment_methods(self):
        c = self.customer()
        pm = self.ok("POST", "/v1/payment_methods/pm_card_visa/attach", {"customer": c["id"]})
        self.assertTrue(pm["id"].startswith("pm_") and pm["id"] != "pm_card_visa")
        self.assertEqual((pm["customer"], pm["card"]["last4"], pm["card"]["brand"]),
                         (c["id"], "4242", "visa"))
        pm2 = self.ok("POST", "/v1/payment_methods/pm_card_mastercard/attach", {"customer": c["id"]})
        self.assertEqual(pm2["card"]["brand"], "mastercard")
        self.assertEqual(self.ok("GET", "/v1/payment_methods/" + pm["id"]), pm)
        lst = self.ok("GET", "/v1/customers/%s/payment_methods" % c["id"], {"limit": 1})
        self.assertEqual(([x["id"] for x in lst["data"]], lst["has_more"]), ([pm2["id"]], True))
        lst = self.ok("GET", "/v1/payment_methods", {"customer": c["id"], "type": "card"})
        self.assertEqual([x["id"] for x in lst["data"]], [pm2["id"], pm["id"]])
        u = self.ok("POST", "/v1/customers/" + c["id"],
                    [("invoice_settings[default_payment_method]", pm["id"])])
        self.assertEqual(u["invoice_settings"]["default_payment_method"], pm["id"])
        other = self.customer(email="o@example.com")
        e = self.err("POST", "/v1/payment_methods/%s/attach" % pm["id"], {"customer": other["id"]})
        self.assertIn("already been attached", e["message"])
        e = self.err("POST", "/v1/customers/" + other["id"],
                     [("invoice_settings[default_payment_method]", pm["id"])])
        self.assertEqual(e["param"], "invoice_settings[default_payment_method]")
        d = self.ok("POST", "/v1/payment_methods/%s/detach" % pm["id"])
        self.assertIsNone(d["customer"])
        self.err("POST", "/v1/payment_methods/%s/detach" % pm["id"])
        self.assertIsNone(self.ok("GET", "/v1/customers/" + c["id"])["invoice_settings"]
                          ["default_payment_method"])
        det = self.events("payment_method.detached")[0]
        self.assertEqual(det["data"]["previous_attributes"], {"customer": c["id"]})
        self.assertEqual(len(self.events("payment_method.attached")), 2)
        exp = self.ok("GET", "/v1/customers/" + c["id"], {"expand[]": "invoice_settings.default_payment_method"})
        self.assertIsNone(exp["invoice_settings"]["default_payment_method"])

    # -- payment intents ---------------------------------------------------------
    def test_payment_intent_visa(self):
        c = self.customer()
        pi = self.ok("POST", "/v1/payment_intents", [
            ("amount", "1099"), ("currency", "usd"), ("customer", c["id"]),
            ("automatic_payment_methods[enabled]", "true"), ("metadata[order_id]", "1001"),
            ("description", "order 1001"), ("receipt_email", "a@example.com")])
        self.assertEqual(pi["status"], "requires_payment_method")
        self.assertTrue(pi["client_secret"].startswith(pi["id"] + "_secret_"))
        pi = self.ok("POST", "/v1/payment_intents/" + pi["id"], {"payment_method": "pm_card_visa"})
        self.assertEqual(pi["status"], "requires_confirmation")
        pi = self.ok("POST", "/v1/payment_intents/%s/confirm" % pi["id"],
                     {"expand[]": "latest_charge"})
        self.assertEqual((pi["status"], pi["amount_received"]), ("succeeded", 1099))
        self.assertEqual(pi["latest_charge"]["status"], "succeeded")
        self.assertTrue(pi["latest_charge"]["id"].startswith("ch_"))
        self.assertEqual(self.ok("GET", "/v1/payment_intents/" + pi["id"])["status"], "succeeded")
        types = [e["type"] for e in self.events()]
        self.assertEqual(types[-3:], ["payment_intent.created", "charge.succeeded",
                                      "payment_intent.succeeded"])
        e = self.err("POST", "/v1/payment_intents/%s/cancel" % pi["id"])
        self.assertEqual(e["code"], "payment_intent_unexpected_state")
        e = self.err("POST", "/v1/payment_intents/%s/confirm" % pi["id"])
        self.assertEqual(e["code"], "payment_intent_unexpected_state")
        # create+confirm in one call, then cancel another one
        pi2 = self.ok("POST", "/v1/payment_intents", {"amount": 2000, "currency": "eur",
                                                      "payment_method": "pm_card_mastercard",
                                                      "confirm": "true"})
        self.assertEqual(pi2["status"], "succeeded")
        pi3 = self.ok("POST", "/v1/payment_intents", {"amount": 2000, "currency": "usd"})
        pi3 = self.ok("POST", "/v1/payment_intents/%s/cancel" % pi3["id"],
                      {"cancellation_reason": "abandoned"})
        self.assertEqual((pi3["status"], pi3["cancellation_reason"]), ("canceled", "abandoned"))
        self.assertEqual(len(self.events("payment_intent.canceled")), 1)
        e = self.err("POST", "/v1/payment_intents", {"amount": 10, "currency": "usd"})
        self.assertEqual(e["code"], "amount_too_small")

    def test_payment_intent_declined(self):
        st, body, _ = self.api("POST", "/v1/payment_intents", {
            "amount": 1099, "currency": "usd", "payment_method": "pm_card_chargeDeclined",
            "confirm": "true"})
        self.assertEqual(st, 402)
        e = body["error"]
        self.assertEqual((e["type"], e["code"], e["decline_code"]),
                         ("card_error", "card_declined", "generic_decline"))
        pi = e["payment_intent"]
        self.assertEqual(pi["status"], "requires_payment_method")
        self.assertEqual(pi["last_payment_error"]["code"], "card_declined")
        self.assertEqual(self.ok("GET", "/v1/payment_intents/" + pi["id"])["status"],
                         "requires_payment_method")
        self.assertEqual(len(self.events("payment_intent.payment_failed")), 1)
        # retry the same intent with a good card
        ok = self.ok("POST", "/v1/payment_intents/%s/confirm" % pi["id"],
                     {"payment_method": "pm_card_visa"})
        self.assertEqual(ok["status"], "succeeded")
        # decline via /confirm
        pi = self.ok("POST", "/v1/payment_intents", {"amount": 1099, "currency": "usd",
                                                     "payment_method": "pm_card_chargeDeclined"})
        st, body, _ = self.api("POST", "/v1/payment_intents/%s/confirm" % pi["id"])
        self.assertEqual((st, body["error"]["payment_intent"]["id"]), (402, pi["id"]))

    def test_payment_intent_3ds(self):
        pi = self.ok("POST", "/v1/payment_intents", {
            "amount": 1099, "currency": "usd", "payment_method": "pm_card_authenticationRequired",
            "confirm": "true"})
        self.assertEqual(pi["status"], "requires_action")
        self.assertEqual(pi["next_action"]["type"], "use_stripe_sdk")
        self.assertEqual(len(self.events("payment_intent.requires_action")), 1)
        done = self.control("POST", "/payment_intents/%s/complete_action" % pi["id"],
                            {"result": "succeeded"})
        self.assertEqual(done["status"], "succeeded")
        pi = self.ok("POST", "/v1/payment_intents", {
            "amount": 1099, "currency": "usd", "payment_method": "pm_card_authenticationRequired",
            "confirm": "true", "return_url": "https://shop.example/return"})
        self.assertEqual(pi["next_action"]["type"], "redirect_to_url")
        self.assertEqual(pi["next_action"]["redirect_to_url"]["return_url"],
                         "https://shop.example/return")
        failed = self.control("POST", "/payment_intents/%s/complete_action" % pi["id"],
                              {"result": "failed"})
        self.assertEqual(failed["status"], "requires_payment_method")
        self.assertEqual(failed["last_payment_error"]["code"],
                         "payment_intent_authentication_failure")
        # off-session 3DS fails with authentication_required
        st, body, _ = self.api("POST", "/v1/payment_intents", {
            "amount": 1099, "currency": "usd", "payment_method": "pm_card_authenticationRequired",
            "confirm": "true", "off_session": "true"})
        self.assertEqual((st, body["error"]["code"]), (402, "authentication_required"))

    # -- refunds -----------------------------------------------------------------
    def test_refunds(self):
        pi = self.ok("POST", "/v1/payment_intents", {"amount": 1000, "currency": "usd",
                                                     "payment_method": "pm_card_visa",
                                                     "confirm": "true"})
        r = self.ok("POST", "/v1/refunds", {"payment_intent": pi["id"], "amount": 300,
                                            "reason": "requested_by_customer"})
        self.assertEqual((r["object"], r["amount"], r["status"], r["charge"]),
                         ("refund", 300, "succeeded", pi["latest_charge"]))
        self.assertTrue(r["id"].startswith("re_"))
        e = self.err("POST", "/v1/refunds", {"payment_intent": pi["id"], "amount": 800})
        self.assertEqual(e["param"], "amount")
        r2 = self.ok("POST", "/v1/refunds", {"payment_intent": pi["id"]})
        self.assertEqual(r2["amount"], 700)
        e = self.err("POST", "/v1/refunds", {"payment_intent": pi["id"]})
        self.assertEqual(e["code"], "charge_already_refunded")
        ch = self.events("charge.refunded")
        self.assertEqual(len(ch), 2)
        self.assertEqual((ch[-1]["data"]["object"]["amount_refunded"],
                          ch[-1]["data"]["object"]["refunded"]), (1000, True))
        e = self.err("POST", "/v1/refunds", {"payment_intent": pi["id"], "reason": "bored"})
        self.assertEqual(e["param"], "reason")
        open_pi = self.ok("POST", "/v1/payment_intents", {"amount": 1000, "currency": "usd"})
        e = self.err("POST", "/v1/refunds", {"payment_intent": open_pi["id"]})
        self.assertEqual(e["param"], "payment_intent")
        self.err("POST", "/v1/refunds", {})

    # -- products and prices --------------------------------------------------------
    def test_products_and_prices(self):
        key = {"Idempotency-Key": "paybridge-product-7"}
        prod = self.ok("POST", "/v1/products", [("name", "Pro plan"), ("description", "All of it"),
                                                ("metadata[product_id]", "7"),
                                                ("metadata[slug]", "pro")], key)
        self.assertTrue(prod["id"].startswith("prod_"))
        self.assertEqual((prod["object"], prod["name"], prod["description"], prod["active"],
                          prod["metadata"]), ("product", "Pro plan", "All of it", True,
                                              {"product_id": "7", "slug": "pro"}))
        again = self.ok("POST", "/v1/products", [("metadata[slug]", "pro"), ("name", "Pro plan"),
                                                 ("description", "All of it"),
                                                 ("metadata[product_id]", "7")], key)
        self.assertEqual(again["id"], prod["id"])
        self.assertEqual(len(self.objects("products")), 1)
        self.assertEqual(self.ok("GET", "/v1/products/" + prod["id"])["name"], "Pro plan")
        e = self.err("GET", "/v1/products/prod_nope", status=404)
        self.assertEqual(e["code"], "resource_missing")
        self.assertEqual(self.err("POST", "/v1/products", {"description": "x"})["param"], "name")
        self.assertEqual(self.err("POST", "/v1/products", {"name": "x", "colour": "red"})["code"],
                         "parameter_unknown")

        once = self.ok("POST", "/v1/prices", {"product": prod["id"], "unit_amount": 1999,
                                              "currency": "usd", "metadata[product_id]": "7"})
        self.assertTrue(once["id"].startswith("price_"))
        self.assertEqual((once["type"], once["unit_amount"], once["currency"], once["product"],
                          once["recurring"], once["active"], once["metadata"]),
                         ("one_time", 1999, "usd", prod["id"], None, True, {"product_id": "7"}))
        monthly = self.ok("POST", "/v1/prices", [("product", prod["id"]), ("unit_amount", "0"),
                                                 ("currency", "eur"),
                                                 ("recurring[interval]", "month"),
                                                 ("recurring[interval_count]", "3")])
        self.assertEqual((monthly["type"], monthly["unit_amount"],
                          monthly["recurring"]["interval"], monthly["recurring"]["interval_count"]),
                         ("recurring", 0, "month", 3))
        got = self.ok("GET", "/v1/prices/" + monthly["id"], [("expand[]", "product")])
        self.assertEqual(got["product"]["name"], "Pro plan")
        self.assertEqual(len(self.objects("prices")), 2)
        # Prices are immutable but for active, metadata, nickname and lookup_key.
        off = self.ok("POST", "/v1/prices/" + once["id"], {"active": "false"})
        self.assertFalse(off["active"])
        self.assertFalse(self.ok("GET", "/v1/prices/" + once["id"])["active"])
        e = self.err("POST", "/v1/prices/" + once["id"], {"unit_amount": 5})
        self.assertEqual(e["code"], "parameter_unknown")
        # Refused: an unknown product, a negative amount, a bad currency, a bad interval,
        # more than three years, no product at all.
        bad = [({"product": "prod_nope", "unit_amount": 1, "currency": "usd"}, "product"),
               ({"product": prod["id"], "unit_amount": -1, "currency": "usd"}, "unit_amount"),
               ({"product": prod["id"], "unit_amount": 1, "currency": "dollars"}, "currency"),
               ({"product": prod["id"], "unit_amount": 1, "currency": "usd",
                 "recurring[interval]": "fortnight"}, "recurring[interval]"),
               ({"product": prod["id"], "unit_amount": 1, "currency": "usd",
                 "recurring[interval]": "year", "recurring[interval_count]": "4"},
                "recurring[interval_count]"),
               ({"unit_amount": 1, "currency": "usd"}, "product")]
        for params, param in bad:
            self.assertEqual(self.err("POST", "/v1/prices", params)["param"], param, params)
        self.assertEqual(len(self.objects("prices")), 2)
        self.assertEqual(self.err("GET", "/v1/prices/price_nope", status=404)["code"],
                         "resource_missing")
        # A price made with product_data makes its product too.
        pd = self.ok("POST", "/v1/prices", {"product_data[name]": "Extra", "unit_amount": 500,
                                            "currency": "usd"})
        self.assertEqual(self.ok("GET", "/v1/products/" + pd["product"])["name"], "Extra")
        # A catalog price sells through checkout like any other.
        cs = self.ok("POST", "/v1/checkout/sessions", [
            ("mode", "payment"), ("success_url", "https://example.com/ok"),
            ("line_items[0][price]", pd["id"]), ("line_items[0][quantity]", "2")])
        self.assertEqual(cs["amount_total"], 1000)

    # -- checkout ----------------------------------------------------------------
    def test_checkout_payment(self):
        c = self.customer(**{"metadata[user_id]": "42"})
        cs = self.ok("POST", "/v1/checkout/sessions", [
            ("mode", "payment"), ("customer", c["id"]), ("client_reference_id", "42"),
            ("success_url", "https://shop.example/ok?session_id={CHECKOUT_SESSION_ID}"),
            ("cancel_url", "https://shop.example/cancel"), ("metadata[order_id]", "1001"),
            ("line_items[0][price_data][currency]", "usd"),
            ("line_items[0][price_data][unit_amount]", "1099"),
            ("line_items[0][price_data][product_data][name]", "Widget"),
            ("line_items[0][quantity]", "1"),
            ("payment_intent_data[metadata][order_id]", "1001")])
        self.assertTrue(cs["id"].startswith("cs_test_"))
        self.assertEqual((cs["status"], cs["payment_status"], cs["amount_total"]),
                         ("open", "unpaid", 1099))
        self.assertEqual(cs["url"], "http://127.0.0.1:%d/_emulator/checkout/%s" % (self.port, cs["id"]))
        self.assertEqual(self.ok("GET", "/v1/checkout/sessions/" + cs["id"]), cs)
        self.conn.request("GET", "/_emulator/checkout/" + cs["id"])
        r = self.conn.getresponse()
        self.assertIn(b"Pay", r.read())
        done = self.control("POST", "/checkout/sessions/%s/complete" % cs["id"],
                            {"payment_method": "pm_card_visa"})
        self.assertEqual((done["status"], done["payment_status"]), ("complete", "paid"))
        got = self.ok("GET", "/v1/checkout/sessions/" + cs["id"], {"expand[]": "payment_intent"})
        self.assertEqual(got["payment_intent"]["status"], "succeeded")
        self.assertEqual(got["payment_intent"]["metadata"], {"order_id": "1001"})
        self.assertEqual(got["payment_intent"]["customer"], c["id"])
        ev = self.events("checkout.session.completed")
        self.assertEqual(len(ev), 1)
        self.assertEqual(ev[0]["data"]["object"]["client_reference_id"], "42")
        self.assertEqual(ev[0]["request"], {"id": None, "idempotency_key": None})
        self.assertEqual(len(self.events("payment_intent.succeeded")), 1)
        e = self.control_err("POST", "/checkout/sessions/%s/complete" % cs["id"])
        self.assertIn("complete", e["error"]["message"])
        # recurring price in payment mode is refused
        self.control("POST", "/prices", {"id": "price_pro", "unit_amount": 2000,
                                         "recurring": {"interval": "month"}})
        e = self.err("POST", "/v1/checkout/sessions", [
            ("mode", "payment"), ("success_url", "https://x"), ("line_items[0][price]", "price_pro"),
            ("line_items[0][quantity]", "1")])
        self.assertEqual(e["param"], "line_items")

    def control_err(self, method, path, body=None):
        self.conn.request(method, "/_emulator" + path, body=json.dumps(body or {}),
                          headers={"Content-Type": "application/json"})
        r = self.conn.getresponse()
        obj = json.loads(r.read())
        self.assertGreaterEqual(r.status, 400)
        return obj

    def test_checkout_setup_needs_currency_or_types(self):
        # Stripe's rule, not the schema's: a setup session must know what to offer.
        e = self.err("POST", "/v1/checkout/sessions", {"mode": "setup",
                                                       "success_url": "https://x/ok"})
        self.assertEqual((e["type"], e["param"]), ("invalid_request_error", "currency"))
        self.assertIn("`currency` or `payment_method_types`", e["message"])
        self.assertEqual(self.objects("checkout_sessions"), [])
        cs = self.ok("POST", "/v1/checkout/sessions", {"mode": "setup", "currency": "usd",
                                                       "success_url": "https://x/ok"})
        self.assertEqual((cs["mode"], cs["status"], cs["currency"], cs["amount_total"]),
                         ("setup", "open", "usd", None))
        cs = self.ok("POST", "/v1/checkout/sessions", [
            ("mode", "setup"), ("success_url", "https://x/ok"),
            ("payment_method_types[0]", "card")])
        self.assertEqual(cs["payment_method_types"], ["card"])

    def test_checkout_subscription_and_portal(self):
        self.control("POST", "/prices", {"id": "price_pro", "unit_amount": 2000,
                                         "recurring": {"interval": "month"}, "name": "Pro"})
        cs = self.ok("POST", "/v1/checkout/sessions", [
            ("mode", "subscription"), ("success_url", "https://x/ok"),
            ("customer_email", "sub@example.com"), ("line_items[0][price]", "price_pro"),
            ("line_items[0][quantity]", "1"), ("subscription_data[metadata][user_id]", "42")])
        done = self.control("POST", "/checkout/sessions/%s/complete" % cs["id"], {})
        sub = self.ok("GET", "/v1/subscriptions/" + done["subscription"])
        self.assertEqual((sub["status"], sub["metadata"], sub["customer"]),
                         ("active", {"user_id": "42"}, done["customer"]))
        item = sub["items"]["data"][0]
        self.assertEqual((item["price"]["id"], item["price"]["unit_amount"]), ("price_pro", 2000))
        self.assertGreater(item["current_period_end"], item["current_period_start"] + 27 * 86400)
        types = [e["type"] for e in self.events()]
        for t in ("customer.created", "payment_method.attached", "customer.subscription.created",
                  "invoice.paid", "checkout.session.completed"):
            self.assertIn(t, types)
        self.assertEqual(types[-1], "checkout.session.completed")
        upd = self.ok("POST", "/v1/subscriptions/" + sub["id"], {"cancel_at_period_end": "true"})
        self.assertTrue(upd["cancel_at_period_end"])
        ev = self.events("customer.subscription.updated")[-1]
        self.assertEqual(ev["data"]["previous_attributes"]["cancel_at_period_end"], False)
        gone = self.ok("DELETE", "/v1/subscriptions/" + sub["id"])
        self.assertEqual(gone["status"], "canceled")
        self.assertEqual(len(self.events("customer.subscription.deleted")), 1)
        bps = self.ok("POST", "/v1/billing_portal/sessions",
                      {"customer": done["customer"], "return_url": "https://x/account"})
        self.assertTrue(bps["id"].startswith("bps_"))
        self.assertEqual((bps["object"], bps["return_url"]),
                         ("billing_portal.session", "https://x/account"))
        self.assertIn("/_emulator/billing_portal/", bps["url"])
        e = self.err("POST", "/v1/billing_portal/sessions", {"customer": "cus_nope"})
        self.assertEqual(e["param"], "customer")
        # control-made subscription, renewal failure
        s2 = self.control("POST", "/subscriptions", {"customer": done["customer"],
                                                     "price": "price_pro"})
        s2 = self.control("POST", "/subscriptions/%s/renew" % s2["id"], {"fail": True})
        self.assertEqual(s2["status"], "past_due")
        self.assertEqual(len(self.events("invoice.payment_failed")), 1)

    # -- faults ------------------------------------------------------------------
    def test_fault_500_then_ok(self):
        self.control("POST", "/faults", {"method": "POST", "path": "/v1/customers", "count": 2,
                                         "kind": "error", "status": 500})
        h = {"Idempotency-Key": "k500"}
        for _ in range(2):
            e = self.err("POST", "/v1/customers", {"email": "a@b.c"}, status=500, headers=h)
            self.assertEqual(e["type"], "api_error")
        c = self.ok("POST", "/v1/customers", {"email": "a@b.c"}, h)  # 5xx was not stored
        self.assertEqual(len(self.objects("customers")), 1)
        self.assertEqual(self.control("GET", "/faults")["data"], [])
        reqs = self.control("GET", "/requests", query="path=/v1/customers")["data"]
        self.assertEqual([r["status"] for r in reqs], [500, 500, 200])
        self.assertEqual([r["fault"] for r in reqs], ["error", "error", None])
        self.assertEqual(c["email"], "a@b.c")

    def test_fault_429_retry_after(self):
        self.control("POST", "/faults", {"path": "/v1/payment_intents", "match": "prefix",
                                         "kind": "error", "status": 429, "retry_after": 1,
                                         "should_retry": True})
        st, body, h = self.api("GET", "/v1/payment_intents/pi_x")
        self.assertEqual((st, body["error"]["code"]), (429, "rate_limit"))
        self.assertEqual((h["retry-after"], h["stripe-should-retry"]), ("1", "true"))
        st, _, h = self.api("GET", "/v1/payment_intents/pi_x")
        self.assertEqual(st, 404)
        self.assertNotIn("stripe-should-retry", h)
        # custom body and duration-based fault
        self.control("POST", "/faults", {"path": "/v1/events", "kind": "error", "status": 503,
                                         "duration_s": 0.3, "should_retry": False,
                                         "body": {"error": {"type": "api_error",
                                                            "message": "maintenance"}}})
        for _ in range(3):
            st, body, h = self.api("GET", "/v1/events")
            self.assertEqual((st, body["error"]["message"], h["stripe-should-retry"]),
                             (503, "maintenance", "false"))
        time.sleep(0.35)
        self.ok("GET", "/v1/events")

    def test_fault_drop_after_apply(self):
        self.control("POST", "/faults", {"method": "POST", "path": "/v1/customers",
                                         "kind": "drop_after_apply"})
        h = {"Idempotency-Key": "k-drop"}
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError)):
            self.raw("POST", "/v1/customers", "email=lost%40example.com", h)
        self.conn.close()
        made = self.objects("customers")
        self.assertEqual(len(made), 1)  # the effect happened
        s, hh, d = self.raw("POST", "/v1/customers", "email=lost%40example.com", h)
        self.assertEqual((s, hh["idempotent-replayed"], json.loads(d)["id"]),
                         (200, "true", made[0]["id"]))
        self.assertEqual(len(self.objects("customers")), 1)
        reqs = self.control("GET", "/requests", query="path=/v1/customers")["data"]
        self.assertEqual([r["status"] for r in reqs], ["dropped", 200])

    def test_fault_hang(self):
        self.control("POST", "/faults", {"path": "/v1/customers", "kind": "hang", "seconds": 0.5})
        t0 = time.monotonic()
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError)):
            self.raw("GET", "/v1/customers")
        self.assertGreaterEqual(time.monotonic() - t0, 0.45)
        self.conn.close()
        self.ok("GET", "/v1/customers")
        reqs = self.control("GET", "/requests")["data"]
        self.assertEqual([r["status"] for r in reqs], ["hung", 200])

    def test_fault_skip_and_402_stored(self):
        self.control("POST", "/faults", {"method": "POST", "path": "/v1/payment_intents",
                                         "kind": "error", "status": 402, "skip": 1})
        self.ok("POST", "/v1/payment_intents", {"amount": 100, "currency": "usd"})
        h = {"Idempotency-Key": "k402"}
        s1, _, d1 = self.raw("POST", "/v1/payment_intents", "amount=100&currency=usd", h)
        s2, h2, d2 = self.raw("POST", "/v1/payment_intents", "amount=100&currency=usd", h)
        self.assertEqual((s1, s2, d1 == d2, h2.get("idempotent-replayed")),
                         (402, 402, True, "true"))

    def test_fault_body_contains(self):
        self.control("POST", "/faults", {"method": "POST", "path": "/v1/customers",
                                         "kind": "error", "status": 500,
                                         "body_contains": "name=Target"})
        other = self.raw("POST", "/v1/customers", "name=Bystander&email=b%40example.com")
        hit = self.raw("POST", "/v1/customers", "name=Target&email=t%40example.com")
        again = self.raw("POST", "/v1/customers", "name=Target&email=t%40example.com")
        self.assertEqual((other[0], hit[0], again[0]), (200, 500, 200))

    def test_fault_probability(self):
        for bad in (0, 1.5, "0.3", True):
            st, _ = self.control_status("POST", "/faults", {"path": "/v1/customers",
                                                             "probability": bad})
            self.assertEqual(st, 400, bad)
        self.control("POST", "/faults", {"path": "/v1/customers", "status": 500,
                                         "count": None, "duration_s": 60, "probability": 0.3})
        codes = [self.raw("GET", "/v1/customers")[0] for _ in range(200)]
        failed = codes.count(500)
        # Binomial(200, 0.3): mean 60, sd 6.5; outside 20..110 is as good as impossible.
        self.assertTrue(20 <= failed <= 110, failed)
        self.assertEqual(failed + codes.count(200), 200)
        self.assertEqual(self.control("GET", "/faults")["data"][0]["hits"], failed)

    # -- webhooks ----------------------------------------------------------------
    def test_webhook_signature(self):
        rcv = self.webhook()
        c = self.customer(**{"metadata[user_id]": "42"})
        got = rcv.wait(1)
        self.assertEqual(len(got), 1)
        g = got[0]
        self.assertEqual(g["headers"]["content-type"], "application/json; charset=utf-8")
        self.assertEqual(g["headers"]["user-agent"], "Stripe/1.0 (+https://stripe.com/docs/webhooks)")
        self.assertTrue(verify(SECRET, g["headers"]["stripe-signature"], g["body"]))
        self.assertFalse(verify("whsec_other", g["headers"]["stripe-signature"], g["body"]))
        ev = json.loads(g["body"])
        self.assertEqual((ev["type"], ev["data"]["object"]["id"], ev["object"], ev["livemode"]),
                         ("customer.created", c["id"], "event", False))
        self.assertEqual(ev, self.ok("GET", "/v1/events/" + ev["id"]) | {"pending_webhooks": 1})
        d = self.control("GET", "/deliveries", query="wait_for=1")["data"]
        self.assertEqual((d[0]["event_id"], d[0]["status"], d[0]["ok"], d[0]["attempt"]),
                         (ev["id"], 200, True, 1))
        # the signature timestamp follows the emulator clock
        now = self.control("POST", "/clock", {"advance_seconds": 1000})["now"]
        self.customer()
        g = rcv.wait(2)[1]
        ts = int(g["headers"]["stripe-signature"].split(",")[0][2:])
        self.assertAlmostEqual(ts, now, delta=3)
        self.assertTrue(verify(SECRET, g["headers"]["stripe-signature"], g["body"], now=now))

    def test_webhook_retries(self):
        rcv = self.webhook(max_attempts=3)
        rcv.statuses = [500, 503, 500, 500, 500, 500]
        self.customer()
        d = self.control("GET", "/deliveries", query="wait_for=3&timeout=5")["data"]
        self.assertEqual([(x["attempt"], x["status"], x["gave_up"]) for x in d],
                         [(1, 500, False), (2, 503, False), (3, 500, True)])
        self.control("POST", "/webhooks", {"url": "http://127.0.0.1:1/nothing",
                                           "max_attempts": 2})
        self.control("DELETE", "/deliveries")
        self.customer()
        d = self.control("GET", "/deliveries", query="wait_for=2&timeout=5")["data"]
        self.assertEqual([x["ok"] for x in d], [False, False])
        self.assertIsNotNone(d[0]["error"])

    def test_webhook_modes(self):
        rcv = self.webhook()
        self.control("POST", "/delivery", {"mode": "duplicate", "count": 1})
        self.customer()
        got = rcv.wait(2)
        self.assertEqual(len(got), 2)
        self.assertEqual(got[0]["body"], got[1]["body"])
        self.control("POST", "/delivery", {"mode": "bad_signature", "count": 1})
        self.customer()
        g = rcv.wait(3)[2]
        self.assertFalse(verify(SECRET, g["headers"]["stripe-signature"], g["body"]))
        self.control("POST", "/delivery", {"mode": "stale_timestamp", "count": 1})
        self.customer()
        g = rcv.wait(4)[3]
        self.assertFalse(verify(SECRET, g["headers"]["stripe-signature"], g["body"]))
        self.assertTrue(verify(SECRET, g["headers"]["stripe-signature"], g["body"],
                               tolerance=10 ** 6))
        # out_of_order: next 3 events delivered newest first
        self.control("POST", "/delivery", {"mode": "out_of_order", "count": 3})
        ids = [self.customer()["id"] for _ in range(3)]
        got = rcv.wait(7)[4:]
        self.assertEqual([json.loads(g["body"])["data"]["object"]["id"] for g in got],
                         list(reversed(ids)))
        # hold, then deliver one on demand, then release the rest
        self.control("POST", "/delivery", {"mode": "hold", "types": ["customer.*"]})
        self.customer()
        self.customer()
        time.sleep(0.2)
        self.assertEqual(len(rcv.got), 7)
        held = self.control("GET", "/delivery")["held"]
        self.assertEqual(len(held), 2)
        self.control("POST", "/events/%s/deliver" % held[1], {})
        got = rcv.wait(8)
        self.assertEqual(json.loads(got[7]["body"])["id"], held[1])
        self.control("POST", "/delivery", {"mode": "normal"})
        self.assertEqual(self.control("POST", "/delivery/release")["released"], 1)
        got = rcv.wait(9)
        self.assertEqual(json.loads(got[8]["body"])["id"], held[0])
        # delay
        self.control("POST", "/delivery", {"mode": "delay", "delay_ms": 300, "count": 1})
        t0 = time.monotonic()
        self.customer()
        rcv.wait(10)
        self.assertGreaterEqual(time.monotonic() - t0, 0.28)
        self.assertEqual(self.control("POST", "/deliveries/drain", {"timeout_s": 2})["idle"], True)

    # -- events --------------------------------------------------------------------
    def test_events_list(self):
        t0 = self.control("GET", "/clock")["now"]
        made = [self.customer(email="e%d@example.com" % i)["id"] for i in range(5)]
        self.control("POST", "/clock", {"advance_seconds": 100})
        pi = self.ok("POST", "/v1/payment_intents", {"amount": 500, "currency": "usd"})
        r = self.ok("GET", "/v1/events", {"limit": 2})
        self.assertEqual((r["object"], r["url"], r["has_more"], len(r["data"])),
                         ("list", "/v1/events", True, 2))
        self.assertEqual(r["data"][0]["type"], "payment_intent.created")
        seen = []
        params = {"limit": 2, "type": "customer.created"}
        while True:
            r = self.ok("GET", "/v1/events", params)
            seen += [e["data"]["object"]["id"] for e in r["data"]]
            if not r["has_more"]:
                break
            params["starting_after"] = r["data"][-1]["id"]
        self.assertEqual(seen, list(reversed(made)))
        r = self.ok("GET", "/v1/events", {"created[gte]": t0 + 50})
        self.assertEqual([e["data"]["object"]["id"] for e in r["data"]], [pi["id"]])
        r = self.ok("GET", "/v1/events", {"created[gt]": t0 + 500})
        self.assertEqual(r["data"], [])
        r = self.ok("GET", "/v1/events", {"type": "customer.*", "limit": 100})
        self.assertEqual(len(r["data"]), 5)
        ev = self.ok("GET", "/v1/events/" + r["data"][0]["id"])
        self.assertEqual(set(ev), {"id", "object", "api_version", "created", "data", "livemode",
                                   "pending_webhooks", "request", "type"})
        e = self.err("GET", "/v1/events/evt_nope", status=404)
        self.assertEqual(e["code"], "resource_missing")
        e = self.err("GET", "/v1/events", {"starting_after": "evt_nope"})
        self.assertEqual(e["param"], "starting_after")

    def test_reset_and_health(self):
        self.customer()
        self.control("POST", "/faults", {"path": "/v1/customers"})
        self.control("POST", "/clock", {"advance_seconds": 10})
        self.control("POST", "/reset", {})
        self.assertEqual(self.objects("customers"), [])
        self.assertEqual(self.control("GET", "/faults")["data"], [])
        self.assertEqual(self.control("GET", "/requests")["data"], [])
        self.assertEqual(self.control("GET", "/clock")["offset"], 0)
        self.assertTrue(self.control("GET", "/health")["ok"])

    # -- setup intents -------------------------------------------------------------
    def test_setup_intent_visa_attaches(self):
        c = self.customer()
        si = self.ok("POST", "/v1/setup_intents", [
            ("customer", c["id"]), ("usage", "off_session"),
            ("automatic_payment_methods[enabled]", "true"), ("metadata[user_id]", "7")],
            headers={"Idempotency-Key": "seti-key-1"})
        self.assertTrue(si["id"].startswith("seti_"))
        self.assertTrue(si["client_secret"].startswith(si["id"] + "_secret_"))
        self.assertEqual((si["object"], si["status"], si["customer"], si["usage"],
                          si["metadata"], si["payment_method"], si["last_setup_error"]),
                         ("setup_intent", "requires_payment_method", c["id"], "off_session",
                          {"user_id": "7"}, None, None))
        self.assertTrue(si["automatic_payment_methods"]["enabled"])
        # the same key and parameters replay the same intent
        again = self.ok("POST", "/v1/setup_intents", [
            ("customer", c["id"]), ("usage", "off_session"),
            ("automatic_payment_methods[enabled]", "true"), ("metadata[user_id]", "7")],
            headers={"Idempotency-Key": "seti-key-1"})
        self.assertEqual(again["id"], si["id"])
        self.assertEqual(len(self.objects("setup_intents")), 1)
        got = self.ok("GET", "/v1/setup_intents/" + si["id"], {"client_secret": si["client_secret"]})
        self.assertEqual(got["id"], si["id"])
        e = self.err("GET", "/v1/setup_intents/" + si["id"], {"client_secret": "nope"})
        self.assertEqual(e["param"], "client_secret")
        done = self.ok("POST", "/v1/setup_intents/%s/confirm" % si["id"],
                       {"payment_method": "pm_card_visa"})
        self.assertEqual(done["status"], "succeeded")
        self.assertTrue(done["payment_method"].startswith("pm_"))
        pm = self.ok("GET", "/v1/payment_methods/" + done["payment_method"])
        self.assertEqual((pm["customer"], pm["card"]["last4"]), (c["id"], "4242"))
        types = [ev["type"] for ev in self.events()]
        self.assertEqual(types[-3:], ["setup_intent.created", "payment_method.attached",
                                      "setup_intent.succeeded"])
        e = self.err("POST", "/v1/setup_intents/%s/confirm" % si["id"],
                     {"payment_method": "pm_card_visa"})
        self.assertEqual(e["code"], "setup_intent_unexpected_state")
        e = self.err("POST", "/v1/setup_intents", {"usage": "sometimes"})
        self.assertEqual(e["param"], "usage")
        e = self.err("POST", "/v1/setup_intents", {"customer": "cus_nobody"})
        self.assertEqual((e["code"], e["param"]), ("resource_missing", "customer"))
        self.err("GET", "/v1/setup_intents/seti_nobody", status=404)

    def test_setup_intent_declined_and_3ds(self):
        c = self.customer()
        si = self.ok("POST", "/v1/setup_intents", {"customer": c["id"]})
        self.assertEqual(si["usage"], "off_session")
        st, body, _ = self.api("POST", "/v1/setup_intents/%s/confirm" % si["id"],
                               {"payment_method": "pm_card_chargeDeclinedInsufficientFunds"})
        self.assertEqual(st, 402)
        e = body["error"]
        self.assertEqual((e["type"], e["code"], e["decline_code"]),
                         ("card_error", "card_declined", "insufficient_funds"))
        failed = self.ok("GET", "/v1/setup_intents/" + si["id"])
        self.assertEqual((failed["status"], failed["payment_method"]),
                         ("requires_payment_method", None))
        self.assertEqual(failed["last_setup_error"]["decline_code"], "insufficient_funds")
        self.assertEqual(e["setup_intent"]["id"], si["id"])
        self.assertEqual(len(self.events("setup_intent.setup_failed")), 1)
        self.assertEqual([pm["customer"] for pm in self.objects("payment_methods")], [None])
        # 3-D Secure: requires_action until the control call completes it
        si = self.ok("POST", "/v1/setup_intents/%s/confirm" % si["id"],
                     {"payment_method": "pm_card_authenticationRequired",
                      "return_url": "https://shop.example/back"})
        self.assertEqual((si["status"], si["next_action"]["type"]),
                         ("requires_action", "redirect_to_url"))
        self.assertEqual(len(self.events("setup_intent.requires_action")), 1)
        self.assertIsNone(self.ok("GET", "/v1/payment_methods/" + si["payment_method"])["customer"])
        done = self.control("POST", "/setup_intents/%s/complete_action" % si["id"],
                            {"result": "succeeded"})
        self.assertEqual(done["status"], "succeeded")
        self.assertEqual(self.ok("GET", "/v1/payment_methods/" + si["payment_method"])["customer"],
                         c["id"])
        # a failed authentication leaves it needing another payment method
        si = self.ok("POST", "/v1/setup_intents", {"customer": c["id"],
                                                  "payment_method": "pm_card_threeDSecure2Required",
                                                  "confirm": "true"})
        self.assertEqual((si["status"], si["next_action"]["type"]),
                         ("requires_action", "use_stripe_sdk"))
        failed = self.control("POST", "/setup_intents/%s/complete_action" % si["id"],
                              {"result": "failed"})
        self.assertEqual(failed["status"], "requires_payment_method")
        self.assertEqual(failed["last_setup_error"]["code"], "setup_intent_authentication_failure")
        # the 3-D Secure page settles either kind of intent and returns to return_url
        si = self.ok("POST", "/v1/setup_intents", {"customer": c["id"], "confirm": "true",
                                                  "payment_method": "pm_card_authenticationRequired",
                                                  "return_url": "https://shop.example/back?x=1"})
        pi = self.ok("POST", "/v1/payment_intents", {
            "amount": 1099, "currency": "usd", "payment_method": "pm_card_authenticationRequired",
            "confirm": "true", "return_url": "https://shop.example/paid"})
        for obj, what in ((si, "setup_intent"), (pi, "payment_intent")):
            st, _, page = self.raw("GET", "/_emulator/3ds/" + obj["id"], key=None)
            self.assertEqual(st, 200)
            self.assertIn(obj["id"].encode(), page)
            st, h, _ = self.raw("POST", "/_emulator/3ds/" + obj["id"], "result=succeeded", key=None)
            self.assertEqual(st, 303)
            self.assertIn("%s=%s&" % (what, obj["id"]), h["location"])
            self.assertTrue(h["location"].endswith("redirect_status=succeeded"))
        self.assertEqual(self.ok("GET", "/v1/setup_intents/" + si["id"])["status"], "succeeded")
        self.assertEqual(self.ok("GET", "/v1/payment_intents/" + pi["id"])["status"], "succeeded")
        st, _, _ = self.raw("GET", "/_emulator/3ds/seti_nobody", key=None)
        self.assertEqual(st, 404)
        # a payment method of another customer is refused
        other = self.customer(email="o@example.com")
        theirs = self.ok("POST", "/v1/payment_methods/pm_card_visa/attach", {"customer": other["id"]})
        si = self.ok("POST", "/v1/setup_intents", {"customer": c["id"]})
        e = self.err("POST", "/v1/setup_intents/%s/confirm" % si["id"],
                     {"payment_method": theirs["id"]})
        self.assertEqual(e["param"], "payment_method")
        e = self.err("POST", "/v1/setup_intents/%s/confirm" % si["id"])
        self.assertEqual(e["code"], "setup_intent_unexpected_state")


class SpecTest(unittest.TestCase):
    def test_every_route_has_a_spec_operation(self):
        with open(emulator.DEFAULT_SPEC, encoding="utf-8") as f:
            spec = json.load(f)
        for method, path, _ in emulator.ROUTES:
            self.assertIn(method.lower(), spec["paths"].get(path, {}), (method, path))
        self.assertLess(os.path.getsize(emulator.DEFAULT_SPEC), 1000000)

    def test_parse_form(self):
        p = emulator.parse_form("a[b][c]=1&a[b][d]=2&e[]=x&e[]=y&f[0][g]=h&f[1][g]=i"
                                "&j[][k]=1&j[][l]=2&j[][k]=3&m=%2B+%26%3D%25&n=")
        self.assertEqual(p, {"a": {"b": {"c": "1", "d": "2"}}, "e": ["x", "y"],
                             "f": {"0": {"g": "h"}, "1": {"g": "i"}},
                             "j": [{"k": "1", "l": "2"}, {"k": "3"}], "m": "+ &=%", "n": ""})
        with self.assertRaises(emulator.ApiError):
            emulator.parse_form("a=1&a[b]=2")


class ProcessTest(unittest.TestCase):
    """The command line: port file, fast start, clean SIGTERM, TLS."""

    def start(self, *extra):
        d = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, d, True)
        pf = os.path.join(d, "port")
        t0 = time.monotonic()
        p = subprocess.Popen(["/usr/bin/python3", os.path.join(HERE, "emulator.py"), "--port", "0",
                              "--port-file", pf, "--quiet"] + list(extra),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def stop():
            if p.poll() is None:
                p.kill()
            p.wait()
        self.addCleanup(stop)
        # A bound against a hang, not a speed test: start-up time is not asserted.
        while not os.path.exists(pf):
            self.assertIsNone(p.poll(), "emulator exited early")
            self.assertLess(time.monotonic() - t0, 30)
            time.sleep(0.01)
        took = time.monotonic() - t0
        with open(pf) as f:
            port = int(f.read())
        return p, port, took, pf

    def test_cli_start_and_sigterm(self):
        p, port, took, pf = self.start()
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        c.request("GET", "/_emulator/health")
        r = c.getresponse()
        r.read()
        self.assertEqual(r.status, 200)
        # keep-alive: several requests on one connection
        for _ in range(3):
            c.request("GET", "/v1/customers", headers={"Authorization": "Bearer " + KEY})
            r = c.getresponse()
            r.read()
            self.assertEqual(r.status, 200)
        c.close()
        p.send_signal(signal.SIGTERM)
        self.assertEqual(p.wait(5), 0)
        self.assertFalse(os.path.exists(pf))

    @unittest.skipUnless(shutil.which("openssl"), "openssl not installed")
    def test_tls(self):
        d = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, d, True)
        cert, key = os.path.join(d, "c.pem"), os.path.join(d, "k.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                        "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1"],
                       check=True, capture_output=True)
        p, port, _, _ = self.start("--tls-cert", cert, "--tls-key", key)
        strict = ssl.create_default_context()
        with self.assertRaises(ssl.SSLError):
            c = http.client.HTTPSConnection("127.0.0.1", port, timeout=5, context=strict)
            c.request("GET", "/_emulator/health")
        c = http.client.HTTPSConnection("127.0.0.1", port, timeout=5,
                                        context=ssl._create_unverified_context())
        c.request("GET", "/v1/customers", headers={"Authorization": "Bearer " + KEY})
        self.assertEqual(c.getresponse().status, 200)
        c.close()
        p.terminate()
        self.assertEqual(p.wait(5), 0)


if __name__ == "__main__":
    unittest.main()
