#!/usr/bin/python3
"""Stateful stand-in for the Stripe API, for paybridge's integration tests.

Python 3 standard library only.  See README.md beside this file for the CLI,
the control API under /_emulator/ and what is (not) modelled.
"""
import argparse
import base64
import calendar
import copy
import datetime
import fnmatch
import hashlib
import heapq
import hmac
import html
import http.client
import http.server
import json
import os
import random
import re
import signal
import socket
import ssl
import string
import sys
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
FIXTURES = os.path.join(REPO, "tests", "fixtures", "stripe")
DEFAULT_SPEC = os.path.join(FIXTURES, "spec.json")
FORM = "application/x-www-form-urlencoded"
IDEMPOTENCY_TTL = 24 * 3600
_rng = random.SystemRandom()
ALNUM = string.ascii_letters + string.digits


def rand(n, alphabet=ALNUM):
    return "".join(_rng.choice(alphabet) for _ in range(n))


def new_id(prefix, n=24):
    return "%s_%s" % (prefix, rand(n))


def jdump(obj):
    """Stripe answers pretty-printed JSON (2-space indent), UTF-8."""
    return json.dumps(obj, indent=2, ensure_ascii=False).encode("utf-8")


class ApiError(Exception):
    """A Stripe-shaped error: {"error": {...}}."""

    def __init__(self, status, message, type="invalid_request_error", code=None,
                 param=None, extra=None, headers=None):
        Exception.__init__(self, message)
        self.status, self.message, self.type = status, message, type
        self.code, self.param, self.extra, self.headers = code, param, extra or {}, headers or []

    def body(self, request_id=None):
        err = {}
        if self.code:
            err["code"] = self.code
        err.update({k: v for k, v in self.extra.items() if k in ("charge", "decline_code")})
        if self.code:
            err["doc_url"] = "https://stripe.com/docs/error-codes/%s" % self.code.replace("_", "-")
        err["message"] = self.message
        if self.param is not None:
            err["param"] = self.param
        for k, v in self.extra.items():
            if k not in err:
                err[k] = v
        if request_id:
            err["request_log_url"] = "https://dashboard.stripe.com/test/logs/%s?t=%d" % (
                request_id, int(time.time()))
        err["type"] = self.type
        return {"error": dict(sorted(err.items()))}


def missing(name, kind, param="id", status=404):
    return ApiError(status, "No such %s: '%s'" % (kind, name), code="resource_missing", param=param)


# --------------------------------------------------------------------------
# Form decoding (Stripe/Rack bracket syntax)
# --------------------------------------------------------------------------
_KEY_RE = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_SEG_RE = re.compile(r"\[([^\[\]]*)\]")


def bracket_name(parts):
    return parts[0] + "".join("[%s]" % p for p in parts[1:])


def _conflict(parts):
    name = bracket_name(parts)
    return ApiError(400, "Invalid value for %s: it is given both as a plain value and with "
                         "nested keys" % name, param=name)


def _has_path(d, segs):
    for s in segs:
        if not isinstance(d, dict) or s not in d:
            return False
        d = d[s]
    return True


def _insert(container, segs, value, done):
    name, rest = segs[0], segs[1:]
    here = done + [name]
    if not rest:
        if isinstance(container.get(name), (dict, list)):
            raise _conflict(here)
        container[name] = value
        return
    if rest[0] == "":
        lst = container.setdefault(name, [])
        if not isinstance(lst, list):
            raise _conflict(here)
        if len(rest) == 1:
            lst.append(value)
            return
        if rest[1] == "":
            raise _conflict(here)
        if lst and isinstance(lst[-1], dict) and not _has_path(lst[-1], rest[1:]):
            _insert(lst[-1], rest[1:], value, here + [str(len(lst) - 1)])
        else:
            if lst and not isinstance(lst[-1], dict) and lst:
                raise _conflict(here)
            d = {}
            lst.append(d)
            _insert(d, rest[1:], value, here + [str(len(lst) - 1)])
        return
    child = container.setdefault(name, {})
    if not isinstance(child, dict):
        raise _conflict(here)
    _insert(child, rest, value, here)


def parse_form(raw, into=None):
    """Decode a form body / query string into nested dicts and lists.

    a[b]=1 -> {"a": {"b": "1"}};  a[]=1&a[]=2 -> {"a": ["1", "2"]};
    a[0][b]=1 -> {"a": {"0": {"b": "1"}}} (index-keyed hashes become arrays
    during validation, where the schema says "array").  Values stay strings.
    """
    out = {} if into is None else into
    if not raw:
        return out
    for part in raw.split("&"):
        if not part:
            continue
        k, _, v = part.partition("=")
        k = urllib.parse.unquote_plus(k, errors="replace")
        v = urllib.parse.unquote_plus(v, errors="replace")
        if not k:
            continue
        m = _KEY_RE.match(k)
        segs = [m.group(1)] + _SEG_RE.findall(m.group(2)) if m else [k]
        _insert(out, segs, v, [])
    return out


# --------------------------------------------------------------------------
# Validation against the OpenAPI request schemas
# --------------------------------------------------------------------------
def child(parent, key):
    return key if parent is None else "%s[%s]" % (parent, key)


def _short(v):
    s = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
    return s if len(s) <= 100 else s[:100] + "..."


class Validator:
    def __init__(self, spec):
        self.spec = spec
        self.schemas = spec.get("components", {}).get("schemas", {})

    def resolve(self, s):
        seen = 0
        while isinstance(s, dict) and "$ref" in s and seen < 20:
            s = self.schemas.get(s["$ref"].rsplit("/", 1)[1], {})
            seen += 1
        return s

    @staticmethod
    def allows_empty(s):
        return s.get("type") == "string" and ("enum" not in s or "" in s["enum"])

    def empty_error(self, name):
        return ApiError(400, "You passed an empty string for '%s'. We assume empty values are an "
                             "attempt to unset a parameter; however '%s' cannot be unset. You should "
                             "remove '%s' from your request or supply a non-empty value."
                        % (name, name, name), code="parameter_invalid_empty", param=name)

    def coerce(self, s, v, name):
        s = self.resolve(s)
        if "anyOf" in s or "oneOf" in s:
            return self.coerce_any(s.get("anyOf") or s.get("oneOf"), v, name)
        if "allOf" in s:
            for sub in s["allOf"]:
                v = self.coerce(sub, v, name)
            return v
        t = s.get("type")
        if v == "" and t != "string":
            raise self.empty_error(name)
        if t == "string":
            if not isinstance(v, str):
                raise ApiError(400, "Invalid string: %s" % _short(v), param=name)
            if v == "" and "enum" in s and "" not in s["enum"]:
                raise self.empty_error(name)
            if "enum" in s and v not in s["enum"] and not s.get("x-stripeBypassValidation"):
                opts = [e for e in s["enum"] if e != ""]
                joined = ", ".join(opts[:-1]) + (", or " if len(opts) > 2 else " or ") + opts[-1] \
                    if len(opts) > 1 else (opts[0] if opts else "")
                raise ApiError(400, "Invalid %s: must be one of %s" % (name, joined), param=name)
            if "maxLength" in s and len(v) > s["maxLength"]:
                raise ApiError(400, "Invalid string: %s; must be at most %d characters"
                               % (_short(v), s["maxLength"]), param=name)
            return v
        if t == "integer":
            if isinstance(v, str) and re.match(r"^-?[0-9]+$", v.strip()):
                return int(v.strip())
            raise ApiError(400, "Invalid integer: %s" % _short(v),
                           code="parameter_invalid_integer", param=name)
        if t == "number":
            if isinstance(v, str):
                try:
                    f = float(v)
                    if f == f and f not in (float("inf"), float("-inf")):
                        return f
                except ValueError:
                    pass
            raise ApiError(400, "Invalid decimal: %s" % _short(v), param=name)
        if t == "boolean":
            if v in ("true", "false"):
                return v == "true"
            raise ApiError(400, "Invalid boolean: %s" % _short(v), param=name)
        if t == "array":
            if isinstance(v, dict) and all(re.match(r"^[0-9]+$", k) for k in v):
                v = [v[k] for k in sorted(v, key=int)]
            if not isinstance(v, list):
                raise ApiError(400, "Invalid array", param=name)
            item = s.get("items", {})
            return [self.coerce(item, x, child(name, str(i))) for i, x in enumerate(v)]
        if t == "object" or "properties" in s:
            if not isinstance(v, dict):
                raise ApiError(400, "Invalid hash", param=name)
            return self.coerce_object(s, v, name)
        return v

    def coerce_object(self, s, v, name):
        props = s.get("properties")
        addl = s.get("additionalProperties")
        for k in v:
            if props is not None and k not in props and addl in (None, False):
                n = child(name, k)
                raise ApiError(400, "Received unknown parameter: %s" % n,
                               code="parameter_unknown", param=n)
        out = {}
        for k, x in v.items():
            if props is not None and k in props:
                out[k] = self.coerce(props[k], x, child(name, k))
            elif isinstance(addl, dict):
                out[k] = self.coerce(addl, x, child(name, k))
            else:
                out[k] = x
        for r in s.get("required", []):
            if r not in v:
                n = child(name, r)
                raise ApiError(400, "Missing required param: %s." % n,
                               code="parameter_missing", param=n)
        return out

    def coerce_any(self, options, v, name):
        options = [self.resolve(o) for o in options]
        if v == "":
            if any(self.allows_empty(o) for o in options):
                return ""
            raise self.empty_error(name)
        if isinstance(v, (dict, list)):
            cands = [o for o in options if o.get("type") in ("object", "array") or "properties" in o]
        else:
            cands = [o for o in options if o.get("type") not in ("object", "array")
                     and "properties" not in o]
        if not cands:
            if isinstance(v, (dict, list)):
                raise ApiError(400, "Invalid string: %s" % _short(v), param=name)
            kinds = {o.get("type") for o in options}
            raise ApiError(400, "Invalid array" if kinds == {"array"} else "Invalid hash", param=name)
        first = None
        for o in cands:
            try:
                return self.coerce(o, v, name)
            except ApiError as e:
                first = first or e
        raise first

    def validate(self, op, method, path_params, query, body):
        """Returns coerced params for the operation or raises ApiError."""
        props, required = {}, []
        for p in op.get("parameters", []):
            if p.get("in") == "query":
                props[p["name"]] = p.get("schema", {})
                if p.get("required"):
                    required.append(p["name"])
        if method == "GET":
            params = query
        else:
            bs = self.resolve(op.get("requestBody", {}).get("content", {}).get(FORM, {})
                              .get("schema", {}))
            props.update(bs.get("properties", {}))
            required += bs.get("required", [])
            params = dict(query)
            params.update(body)
        schema = {"type": "object", "properties": props, "required": required,
                  "additionalProperties": False}
        return self.coerce_object(schema, params, None)


# --------------------------------------------------------------------------
# Object templates (shapes from tests/fixtures/stripe, values filled in)
# --------------------------------------------------------------------------
def _load_json(*parts):
    with open(os.path.join(FIXTURES, *parts), encoding="utf-8") as f:
        return json.load(f)


class Templates:
    def __init__(self):
        ev = lambda t: _load_json("events", t + ".json")  # noqa: E731
        charge_ev = ev("charge.refunded")
        self.t = {
            "event": {k: v for k, v in ev("customer.created").items() if k != "data"},
            "customer": ev("customer.created")["data"]["object"],
            "deleted_customer": _load_json("objects", "deleted_customer.json"),
            "payment_method": ev("payment_method.attached")["data"]["object"],
            "payment_intent": ev("payment_intent.succeeded")["data"]["object"],
            "charge": charge_ev["data"]["object"],
            "refund": charge_ev["data"]["object"]["refunds"]["data"][0],
            "checkout.session": ev("checkout.session.completed")["data"]["object"],
            "subscription": ev("customer.subscription.created")["data"]["object"],
            "invoice": ev("invoice.paid")["data"]["object"],
            "billing_portal.session": _load_json("objects", "billing_portal.session.json"),
            "setup_intent": _load_json("objects", "setup_intent.json"),
        }
        self.api_version = self.t["event"].get("api_version") or "2026-06-24.dahlia"

    def __call__(self, name):
        return copy.deepcopy(self.t[name])


# Test payment methods (https://stripe.com/docs/testing).  behavior: ok | decline |
# 3ds | processing.  pm_emulator_processing is emulator-only.
CARDS = {
    "pm_card_visa": ("visa", "4242", "credit", "ok", None),
    "pm_card_visa_debit": ("visa", "5556", "debit", "ok", None),
    "pm_card_mastercard": ("mastercard", "4444", "credit", "ok", None),
    "pm_card_amex": ("amex", "8431", "credit", "ok", None),
    "pm_card_us": ("visa", "4242", "credit", "ok", None),
    "pm_card_chargeDeclined": ("visa", "0002", "credit", "decline", "generic_decline"),
    "pm_card_chargeDeclinedInsufficientFunds": ("visa", "9995", "credit", "decline",
                                                "insufficient_funds"),
    "pm_card_chargeDeclinedExpiredCard": ("visa", "0069", "credit", "decline", "expired_card"),
    "pm_card_chargeCustomerFail": ("visa", "0341", "credit", "decline", "generic_decline"),
    "pm_card_authenticationRequired": ("visa", "3184", "credit", "3ds", None),
    "pm_card_threeDSecure2Required": ("visa", "3220", "credit", "3ds", None),
    "pm_emulator_processing": ("visa", "4242", "credit", "processing", None),
}
DECLINES = {
    "generic_decline": ("card_declined", "Your card was declined."),
    "insufficient_funds": ("card_declined", "Your card has insufficient funds."),
    "expired_card": ("expired_card", "Your card has expired."),
    "authentication_required": ("authentication_required",
                                "Your card was declined. This transaction requires authentication."),
    "payment_intent_authentication_failure": (
        "payment_intent_authentication_failure",
        "The provided PaymentMethod has failed authentication. You can provide payment_method_data "
        "or a new PaymentMethod to attempt to fulfill this PaymentIntent again."),
    "setup_intent_authentication_failure": (
        "setup_intent_authentication_failure",
        "The latest attempt to set up the payment method has failed because authentication "
        "failed."),
}
KIND_PREFIXES = [("cus_", "customers"), ("pm_", "payment_methods"), ("pi_", "payment_intents"),
                 ("ch_", "charges"), ("re_", "refunds"), ("cs_", "checkout_sessions"),
                 ("sub_", "subscriptions"), ("in_", "invoices"), ("evt_", "events"),
                 ("price_", "prices"), ("bps_", "billing_portal_sessions"),
                 ("prod_", "products"), ("seti_", "setup_intents")]
KINDS = [k for _, k in KIND_PREFIXES]
KIND_NAMES = {"customers": "customer", "payment_methods": "PaymentMethod",
              "payment_intents": "payment_intent", "charges": "charge", "refunds": "refund",
              "checkout_sessions": "checkout.session", "subscriptions": "subscription",
              "invoices": "invoice", "events": "event", "prices": "price",
              "billing_portal_sessions": "billing_portal.session", "products": "product",
              "setup_intents": "setup_intent"}
ADDRESS_KEYS = ["city", "country", "line1", "line2", "postal_code", "state"]


def add_interval(ts, interval, count=1):
    d = datetime.datetime.fromtimestamp(ts, datetime.timezone.utc)
    if interval == "day":
        d += datetime.timedelta(days=count)
    elif interval == "week":
        d += datetime.timedelta(weeks=count)
    else:
        months = count * (12 if interval == "year" else 1)
        m = d.month - 1 + months
        y, m = d.year + m // 12, m % 12 + 1
        d = d.replace(year=y, month=m, day=min(d.day, calendar.monthrange(y, m)[1]))
    return int(d.timestamp())


def diff(old, new):
    """previous_attributes: old values of what changed (nested hashes partially)."""
    out = {}
    for k in set(old) | set(new):
        a, b = old.get(k), new.get(k)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict) and k != "items":
            out[k] = diff(a, b)
        else:
            out[k] = a
    return dict(sorted(out.items()))


def fmt_money(amount, currency):
    return "%s%.2f" % ("$" if currency == "usd" else currency.upper() + " ", amount / 100.0)


class Ctx:
    """What a handler knows about the API request that caused it."""

    def __init__(self, request_id=None, idempotency_key=None):
        self.request_id, self.idempotency_key = request_id, idempotency_key


# --------------------------------------------------------------------------
# State and Stripe behaviour
# --------------------------------------------------------------------------
class Emulator:
    def __init__(self, spec_path, base_url="http://127.0.0.1:0", api_key=None):
        self.lock = threading.RLock()
        self.cv = threading.Condition(self.lock)
        self.tmpl = Templates()
        self.api_version = self.tmpl.api_version
        with open(spec_path, encoding="utf-8") as f:
            self.spec = json.load(f)
        self.validator = Validator(self.spec)
        self.base_url = base_url
        self.api_key = api_key
        self.webhooks = Webhooks(self)
        self.portal_configuration = new_id("bpc")
        self.stop_event = threading.Event()
        self.reset()

    # ---- basics ---------------------------------------------------------
    def reset(self):
        with self.lock:
            self.clock_offset = 0
            self.store = {k: {} for k in KINDS}
            self.meta = {}          # id -> internal data (not part of the API object)
            self.seq = 0
            self.idem = {}
            self.requests = []
            self.faults = []
            self.fault_seq = 0
            self.search_lag = 0.0
            self.webhooks.reset_state()

    def now(self):
        return int(time.time() + self.clock_offset)

    def put(self, kind, obj, **internal):
        self.seq += 1
        self.store[kind][obj["id"]] = obj
        m = self.meta.setdefault(obj["id"], {})
        m["seq"] = self.seq
        m["kind"] = kind
        m.update(internal)
        return obj

    def get(self, kind, oid, param="id", status=404, allow_deleted=False):
        obj = self.store[kind].get(oid) if isinstance(oid, str) else None
        if obj is None or (not allow_deleted and self.meta[oid].get("deleted")):
            raise missing(oid, KIND_NAMES[kind], param, status)
        return obj

    def kind_of(self, oid):
        for prefix, kind in KIND_PREFIXES:
            if oid.startswith(prefix):
                return kind
        return None

    def view(self, obj):
        """The API representation of a stored object."""
        m = self.meta.get(obj.get("id"), {})
        if m.get("deleted") and m.get("kind") == "customers":
            d = self.tmpl("deleted_customer")
            d["id"] = obj["id"]
            return d
        return copy.deepcopy(obj)

    def emit(self, type_, obj, ctx, previous=None):
        ev = self.tmpl("event")
        ev.update({
            "id": new_id("evt"), "object": "event", "api_version": self.api_version,
            "created": self.now(), "data": {"object": copy.deepcopy(obj)}, "livemode": False,
            "pending_webhooks": 1 if self.webhooks.url else 0,
            "request": {"id": ctx.request_id if ctx else None,
                        "idempotency_key": ctx.idempotency_key if ctx else None},
            "type": type_})
        if previous is not None:
            ev["data"]["previous_attributes"] = previous
        order = ["id", "object", "api_version", "created", "data", "livemode",
                 "pending_webhooks", "request", "type"]
        ev = {k: ev[k] for k in order if k in ev}
        self.put("events", ev)
        self.webhooks.enqueue(ev)
        return ev

    # ---- expansion and lists -------------------------------------------
    def expand(self, obj, paths, strict=True):
        """Expand ids named by dotted paths.  Unknown paths are a 400 when strict; after a
        POST has already changed state they are ignored instead."""
        obj = copy.deepcopy(obj)
        for p in paths or []:
            try:
                self._expand(obj, p.split("."), p, 0)
            except ApiError:
                if strict:
                    raise
        return obj

    def _expand(self, obj, parts, full, depth):
        if isinstance(obj, list):
            for x in obj:
                self._expand(x, parts, full, depth)
            return
        if not isinstance(obj, dict) or depth > 4:
            return
        k = parts[0]
        if k == "line_items" and obj.get("object") == "checkout.session" and k not in obj:
            obj[k] = self.session_line_items(obj["id"])
        if k not in obj:
            raise ApiError(400, "This property cannot be expanded (%s)." % full)
        v = obj[k]
        if isinstance(v, str):
            kind = self.kind_of(v)
            if kind and v in self.store[kind]:
                obj[k] = v = self.view(self.store[kind][v])
        if len(parts) > 1 and v is not None:
            self._expand(v, parts[1:], full, depth + 1)

    def paginate(self, kind, items, p, url):
        """items: API objects of one kind, newest first (by internal seq)."""
        limit = p.get("limit", 10)
        if not 1 <= limit <= 100:
            raise ApiError(400, "Invalid limit: must be an integer between 1 and 100, inclusive.",
                           param="limit")
        sa, eb = p.get("starting_after"), p.get("ending_before")
        if sa and eb:
            raise ApiError(400, "You may only specify one of these parameters: ending_before, "
                                "starting_after.", code="parameters_exclusive")
        if sa or eb:
            cur = sa or eb
            if cur not in self.meta or self.meta[cur].get("kind") != kind:
                raise missing(cur, KIND_NAMES[kind], "starting_after" if sa else "ending_before", 400)
            cseq = self.meta[cur]["seq"]
            if sa:
                rest = [o for o in items if self.meta[o["id"]]["seq"] < cseq]
                page, more = rest[:limit], len(rest) > limit
            else:
                rest = [o for o in items if self.meta[o["id"]]["seq"] > cseq]
                page, more = rest[-limit:], len(rest) > limit
        else:
            page, more = items[:limit], len(items) > limit
        return {"object": "list", "data": [self.view(o) for o in page], "has_more": more,
                "url": url}

    def newest_first(self, kind, pred=lambda o: True, include_deleted=False):
        objs = [o for o in self.store[kind].values()
                if (include_deleted or not self.meta[o["id"]].get("deleted")) and pred(o)]
        objs.sort(key=lambda o: self.meta[o["id"]]["seq"], reverse=True)
        return objs

    @staticmethod
    def created_filter(spec):
        if spec is None:
            return lambda o: True
        if isinstance(spec, int):
            return lambda o: o["created"] == spec
        ops = {"gt": lambda a, b: a > b, "gte": lambda a, b: a >= b,
               "lt": lambda a, b: a < b, "lte": lambda a, b: a <= b}
        return lambda o: all(ops[k](o["created"], v) for k, v in spec.items() if k in ops)

    # ---- helpers on params ---------------------------------------------
    @staticmethod
    def metadata(existing, val):
        if val is None:
            return existing
        if val == "":
            return {}
        m = dict(existing or {})
        for k, v in val.items():
            if len(k) > 40:
                raise ApiError(400, "Metadata keys can have a maximum length of 40 characters.",
                               param="metadata[%s]" % k)
            if len(v) > 500:
                raise ApiError(400, "Metadata values can have a maximum length of 500 characters.",
                               param="metadata[%s]" % k)
            if v == "":
                m.pop(k, None)
            else:
                m[k] = v
        if len(m) > 50:
            raise ApiError(400, "You can specify up to 50 keys.", param="metadata")
        return m

    @staticmethod
    def address(val):
        if val in (None, ""):
            return None
        return {k: val.get(k) for k in ADDRESS_KEYS}

    def shipping(self, val):
        if val in (None, ""):
            return None
        return {"address": self.address(val.get("address")) or {k: None for k in ADDRESS_KEYS},
                "name": val.get("name"), "phone": val.get("phone")}

    def customer_ref(self, cid, param="customer"):
        c = self.store["customers"].get(cid)
        if c is None or self.meta[cid].get("deleted"):
            raise missing(cid, "customer", param, 400)
        return c

    # ---- customers ------------------------------------------------------
    def h_customers_create(self, ctx, p, pp):
        c = self.tmpl("customer")
        c.update({"id": new_id("cus", 14), "created": self.now(), "address": None, "balance": 0,
                  "currency": None, "default_source": None, "delinquent": False,
                  "description": None, "discount": None, "email": None,
                  "invoice_prefix": rand(8, "0123456789ABCDEF"),
                  "invoice_settings": {"custom_fields": None, "default_payment_method": None,
                                       "footer": None, "rendering_options": None},
                  "livemode": False, "metadata": {}, "name": None, "next_invoice_sequence": 1,
                  "phone": None, "preferred_locales": [], "shipping": None, "tax_exempt": "none",
                  "test_clock": None})
        pm = None
        if p.get("payment_method"):
            pm = self.resolve_pm(p["payment_method"], "payment_method")
            if pm["customer"]:
                raise ApiError(400, "The payment method you provided has already been attached to "
                                    "a customer.", param="payment_method")
        self.apply_customer(c, p, attached=[pm["id"]] if pm else [])
        self.put("customers", c, searchable_at=time.monotonic() + self.search_lag)
        self.emit("customer.created", c, ctx)
        if pm:
            self.attach_pm(pm, c, ctx)
        return 200, c

    def apply_customer(self, c, p, attached=()):
        for k in ("email", "name", "description", "phone", "tax_exempt"):
            if k in p:
                c[k] = p[k] if p[k] != "" else (None if k != "tax_exempt" else "none")
        if "balance" in p:
            c["balance"] = p["balance"]
        if "address" in p:
            c["address"] = self.address(p["address"])
        if "shipping" in p:
            c["shipping"] = self.shipping(p["shipping"])
        if "preferred_locales" in p:
            c["preferred_locales"] = p["preferred_locales"] or []
        if "metadata" in p:
            c["metadata"] = self.metadata(c["metadata"], p["metadata"])
        inv = p.get("invoice_settings")
        if inv:
            s = c["invoice_settings"] = dict(c["invoice_settings"])
            if "default_payment_method" in inv:
                dpm = inv["default_payment_method"]
                if dpm:
                    pm = self.store["payment_methods"].get(dpm)
                    if dpm not in attached and (pm is None or pm["customer"] != c["id"]):
                        raise ApiError(400, "The customer does not have a payment method with the "
                                            "ID %s. The payment method must be attached to the "
                                            "customer." % dpm,
                                       param="invoice_settings[default_payment_method]")
                s["default_payment_method"] = dpm or None
            if "footer" in inv:
                s["footer"] = inv["footer"] or None
            if "custom_fields" in inv:
                s["custom_fields"] = inv["custom_fields"] or None

    def h_customers_retrieve(self, ctx, p, pp):
        return 200, self.get("customers", pp["customer"], allow_deleted=True)

    def h_customers_update(self, ctx, p, pp):
        c = self.get("customers", pp["customer"])
        old = copy.deepcopy(c)
        new = copy.deepcopy(c)
        self.apply_customer(new, p)
        c.clear()
        c.update(new)
        prev = diff(old, c)
        if prev:
            self.emit("customer.updated", c, ctx, prev)
        return 200, c

    def h_customers_delete(self, ctx, p, pp):
        c = self.get("customers", pp["customer"])
        self.meta[c["id"]]["deleted"] = True
        for sub in self.store["subscriptions"].values():
            if sub["customer"] == c["id"] and sub["status"] not in ("canceled", "incomplete_expired"):
                self.cancel_subscription(sub, ctx)
        self.emit("customer.deleted", c, ctx)
        return 200, self.view(c)

    def h_customers_list(self, ctx, p, pp):
        pred_c = self.created_filter(p.get("created"))
        email = p.get("email")
        items = self.newest_first("customers", lambda o: pred_c(o) and
                                  (email is None or o["email"] == email))
        return 200, self.paginate("customers", items, p, "/v1/customers")

    def h_customers_search(self, ctx, p, pp):
        clauses, joiner = parse_search(p["query"], {"email", "name", "phone", "created",
                                                    "metadata", "description"}, "customers")
        now = time.monotonic()

        def match(c):
            if self.meta[c["id"]].get("searchable_at", 0) > now:
                return False
            res = [clause_match(cl, c) for cl in clauses]
            return all(res) if joiner == "AND" else any(res)
        items = self.newest_first("customers", match)
        limit = p.get("limit", 10)
        if not 1 <= limit <= 100:
            raise ApiError(400, "Invalid limit: must be an integer between 1 and 100, inclusive.",
                           param="limit")
        offset = 0
        if p.get("page"):
            try:
                offset = int(json.loads(base64.urlsafe_b64decode(p["page"].encode()).decode())["o"])
            except Exception:
                raise ApiError(400, "Invalid page: %s" % p["page"], param="page")
        page = items[offset:offset + limit]
        more = len(items) > offset + limit
        nxt = base64.urlsafe_b64encode(json.dumps({"o": offset + limit}).encode()).decode() \
            if more else None
        return 200, {"object": "search_result", "data": [self.view(c) for c in page],
                     "has_more": more, "next_page": nxt, "url": "/v1/customers/search"}

    # ---- payment methods ------------------------------------------------
    def make_pm(self, token):
        brand, last4, funding, behavior, decline = CARDS[token]
        pm = self.tmpl("payment_method")
        year = datetime.datetime.fromtimestamp(self.now(), datetime.timezone.utc).year
        pm.update({
            "allow_redisplay": "unspecified",
            "billing_details": {"address": {k: None for k in ADDRESS_KEYS}, "email": None,
                                "name": None, "phone": None, "tax_id": None},
            "card": {"brand": brand,
                     "checks": {"address_line1_check": None, "address_postal_code_check": None,
                                "cvc_check": None},
                     "country": "US", "display_brand": brand, "exp_month": 12, "exp_year": year + 3,
                     "fingerprint": hashlib.sha256(token.encode()).hexdigest()[:16],
                     "funding": funding, "generated_from": None, "last4": last4,
                     "networks": {"available": [brand], "preferred": None},
                     "three_d_secure_usage": {"supported": True}, "wallet": None,
                     "regulated_status": "unregulated"},
            "created": self.now(), "customer": None, "id": new_id("pm"), "livemode": False,
            "metadata": {}, "object": "payment_method", "type": "card", "customer_account": None})
        return self.put("payment_methods", pm, behavior=behavior, decline=decline, token=token)

    def resolve_pm(self, ref, param="payment_method", status=400):
        if ref in CARDS:
            return self.make_pm(ref)
        pm = self.store["payment_methods"].get(ref)
        if pm is None:
            raise missing(ref, "PaymentMethod", param, status)
        return pm

    def attach_pm(self, pm, cust, ctx):
        pm["customer"] = cust["id"]
        self.emit("payment_method.attached", pm, ctx)

    def h_pm_retrieve(self, ctx, p, pp):
        return 200, self.resolve_pm(pp["payment_method"], "id", 404)

    def h_pm_attach(self, ctx, p, pp):
        pm = self.resolve_pm(pp["payment_method"], "payment_method", 404)
        cust = self.customer_ref(p["customer"])
        if pm["customer"] == cust["id"]:
            return 200, pm
        if pm["customer"]:
            raise ApiError(400, "The payment method you provided has already been attached to a "
                                "customer.", code="payment_method_unexpected_state",
                           param="payment_method")
        if self.meta[pm["id"]].get("consumed"):
            raise ApiError(400, "This PaymentMethod was previously used without being attached to "
                                "a Customer or was detached from a Customer, and may not be used "
                                "again.", code="payment_method_unexpected_state",
                           param="payment_method")
        self.attach_pm(pm, cust, ctx)
        return 200, pm

    def h_pm_detach(self, ctx, p, pp):
        pm = self.resolve_pm(pp["payment_method"], "payment_method", 404)
        if not pm["customer"]:
            raise ApiError(400, "The payment method you provided is not attached to a customer so "
                                "detachment is impossible.", code="payment_method_unexpected_state",
                           param="payment_method")
        cid = pm["customer"]
        pm["customer"] = None
        self.meta[pm["id"]]["consumed"] = True
        self.emit("payment_method.detached", pm, ctx, {"customer": cid})
        c = self.store["customers"].get(cid)
        if c and c["invoice_settings"].get("default_payment_method") == pm["id"] \
                and not self.meta[cid].get("deleted"):
            old = copy.deepcopy(c)
            c["invoice_settings"]["default_payment_method"] = None
            self.emit("customer.updated", c, ctx, diff(old, c))
        return 200, pm

    def list_pms(self, p, cid, url):
        t = p.get("type")
        items = self.newest_first("payment_methods", lambda o: (cid is None or o["customer"] == cid)
                                  and (t is None or o["type"] == t))
        return 200, self.paginate("payment_methods", items, p, url)

    def h_pm_list(self, ctx, p, pp):
        cid = p.get("customer")
        if cid:
            self.customer_ref(cid)
        else:
            # Stripe lists only PaymentMethods attached to a customer here.
            return 200, {"object": "list", "data": [], "has_more": False,
                         "url": "/v1/payment_methods"}
        return self.list_pms(p, cid, "/v1/payment_methods")

    def h_customer_pms(self, ctx, p, pp):
        c = self.get("customers", pp["customer"])
        return self.list_pms(p, c["id"], "/v1/customers/%s/payment_methods" % c["id"])

    # ---- payment intents ------------------------------------------------
    def check_pm_for(self, pm, cust_id, param="payment_method"):
        if pm["customer"] and cust_id and pm["customer"] != cust_id:
            raise ApiError(400, "The customer does not have a payment method with the ID %s. The "
                                "payment method must be attached to the customer." % pm["id"],
                           param=param)
        if pm["customer"] and not cust_id:
            raise ApiError(400, "The provided PaymentMethod belongs to a Customer, but you did not "
                                "provide the Customer (%s). Please include the Customer in the "
                                "`customer` parameter on the PaymentIntent." % pm["customer"],
                           param=param)
        if self.meta[pm["id"]].get("consumed") and not pm["customer"]:
            raise ApiError(400, "This PaymentMethod was previously used without being attached to a "
                                "Customer or was detached from a Customer, and may not be used "
                                "again.", code="payment_method_unexpected_state", param=param)

    def h_pi_create(self, ctx, p, pp):
        amount, currency = p["amount"], p["currency"].lower()
        self.check_amount(amount, currency)
        cust = self.customer_ref(p["customer"]) if p.get("customer") else None
        pm = None
        if p.get("payment_method"):
            pm = self.resolve_pm(p["payment_method"])
            self.check_pm_for(pm, cust and cust["id"])
        if p.get("confirm") is not True:
            for k in ("return_url", "off_session", "error_on_requires_action", "mandate"):
                if k in p:
                    raise ApiError(400, "You can only pass `%s` when `confirm=true`." % k, param=k)
        apm, pmt = self.payment_method_choice(p)
        if pmt is None:
            apm = {"allow_redirects": (apm or {}).get("allow_redirects", "always"),
                   "enabled": (apm or {}).get("enabled", True)}
        pi = self.tmpl("payment_intent")
        pid = new_id("pi")
        pi.update({
            "amount": amount, "amount_capturable": 0, "amount_details": {"tip": {}},
            "amount_received": 0, "application": None,
            "application_fee_amount": p.get("application_fee_amount"),
            "automatic_payment_methods": apm if pmt is None else None,
            "canceled_at": None, "cancellation_reason": None,
            "capture_method": p.get("capture_method", "automatic"),
            "client_secret": "%s_secret_%s" % (pid, rand(25)),
            "confirmation_method": p.get("confirmation_method", "automatic"),
            "created": self.now(), "currency": currency, "customer": cust and cust["id"],
            "description": p.get("description") or None, "id": pid, "last_payment_error": None,
            "latest_charge": None, "livemode": False,
            "metadata": self.metadata({}, p.get("metadata", {})),
            "next_action": None, "object": "payment_intent", "on_behalf_of": None,
            "payment_method": pm and pm["id"],
            "payment_method_configuration_details":
                {"id": self.portal_configuration.replace("bpc_", "pmc_"), "parent": None}
                if pmt is None else None,
            "payment_method_options": {}, "payment_method_types": pmt or ["card"],
            "processing": None, "receipt_email": p.get("receipt_email") or None, "review": None,
            "setup_future_usage": p.get("setup_future_usage") or None,
            "shipping": self.shipping(p.get("shipping")),
            "statement_descriptor": p.get("statement_descriptor") or None,
            "statement_descriptor_suffix": p.get("statement_descriptor_suffix") or None,
            "status": "requires_confirmation" if pm else "requires_payment_method",
            "transfer_data": None, "transfer_group": p.get("transfer_group") or None,
            "source": None, "excluded_payment_method_types": None, "customer_account": None,
            "managed_payments": {"enabled": False}})
        self.put("payment_intents", pi)
        self.emit("payment_intent.created", pi, ctx)
        if p.get("confirm") is True:
            self.confirm_pi(pi, p, ctx)
        return 200, pi

    @staticmethod
    def payment_method_choice(p):
        """automatic_payment_methods or payment_method_types of an intent: one at most."""
        apm, pmt = p.get("automatic_payment_methods"), p.get("payment_method_types")
        if apm and pmt:
            raise ApiError(400, "You may only specify one of these parameters: "
                                "automatic_payment_methods, payment_method_types.",
                           code="parameters_exclusive")
        return apm, pmt

    @staticmethod
    def check_amount(amount, currency, param="amount"):
        if not re.match(r"^[a-z]{3}$", currency):
            raise ApiError(400, "Invalid currency: %s. Stripe currently supports these currencies: "
                                "usd, eur, gbp, ..." % currency, param="currency")
        if amount < 50:
            raise ApiError(400, "Amount must be at least %s" % fmt_money(50, currency),
                           code="amount_too_small", param=param)
        if amount > 99999999:
            raise ApiError(400, "Amount must be no more than %s" % fmt_money(99999999, currency),
                           code="amount_too_large", param=param)

    def h_pi_retrieve(self, ctx, p, pp):
        return 200, self.get("payment_intents", pp["intent"])

    def h_pi_update(self, ctx, p, pp):
        pi = self.get("payment_intents", pp["intent"])
        if pi["status"] in ("succeeded", "canceled", "processing"):
            raise ApiError(400, "This PaymentIntent's %s could not be updated because it has a "
                                "status of %s. You may only update the %s of a PaymentIntent with "
                                "one of the following statuses: requires_payment_method, "
                                "requires_confirmation, requires_action."
                           % (sorted(p)[0] if p else "parameters", pi["status"],
                              sorted(p)[0] if p else "parameters"),
                           code="payment_intent_unexpected_state",
                           extra={"payment_intent": copy.deepcopy(pi)})
        new = copy.deepcopy(pi)
        if "amount" in p:
            self.check_amount(p["amount"], p.get("currency", pi["currency"]))
            new["amount"] = p["amount"]
        if "currency" in p:
            new["currency"] = p["currency"].lower()
        if "customer" in p:
            new["customer"] = self.customer_ref(p["customer"])["id"] if p["customer"] else None
        if p.get("payment_method"):
            pm = self.resolve_pm(p["payment_method"])
            self.check_pm_for(pm, new["customer"])
            new["payment_method"] = pm["id"]
            if new["status"] in ("requires_payment_method", "requires_action"):
                new["status"] = "requires_confirmation"
                new["next_action"] = None
        for k in ("description", "receipt_email", "statement_descriptor",
                  "statement_descriptor_suffix", "transfer_group", "setup_future_usage"):
            if k in p:
                new[k] = p[k] or None
        if "shipping" in p:
            new["shipping"] = self.shipping(p["shipping"])
        if "metadata" in p:
            new["metadata"] = self.metadata(new["metadata"], p["metadata"])
        pi.clear()
        pi.update(new)
        return 200, pi

    def h_pi_confirm(self, ctx, p, pp):
        pi = self.get("payment_intents", pp["intent"])
        self.confirm_pi(pi, p, ctx)
        return 200, pi

    def confirm_with(self, intent, p):
        """A confirm's payment_method (of the intent's customer, or none) becomes the intent's."""
        if p.get("payment_method"):
            pm = self.resolve_pm(p["payment_method"])
            self.check_pm_for(pm, intent["customer"])
            intent["payment_method"] = pm["id"]

    def confirm_pi(self, pi, p, ctx, auto_authenticate=False):
        st = pi["status"]
        if st not in ("requires_payment_method", "requires_confirmation", "requires_action"):
            msg = ("You cannot confirm this PaymentIntent because it has already succeeded after "
                   "being previously confirmed." if st == "succeeded" else
                   "This PaymentIntent's status is %s, but it must be one of "
                   "requires_payment_method, requires_confirmation, or requires_action to be "
                   "confirmed." % st)
            raise ApiError(400, msg, code="payment_intent_unexpected_state",
                           extra={"payment_intent": copy.deepcopy(pi)})
        self.confirm_with(pi, p)
        if not pi["payment_method"]:
            raise ApiError(400, "You cannot confirm this PaymentIntent because it's missing a "
                                "payment method. To confirm the PaymentIntent with %s, specify a "
                                "payment method attached to this customer along with the customer "
                                "ID." % (pi["customer"] or "a customer"),
                           code="payment_intent_unexpected_state",
                           extra={"payment_intent": copy.deepcopy(pi)})
        for k in ("receipt_email", "setup_future_usage"):
            if k in p:
                pi[k] = p[k] or None
        if "shipping" in p:
            pi["shipping"] = self.shipping(p["shipping"])
        pm = self.store["payment_methods"][pi["payment_method"]]
        m = self.meta[pm["id"]]
        behavior = m.get("behavior", "ok")
        if behavior == "3ds" and auto_authenticate:
            behavior = "ok"
        if behavior == "3ds" and (p.get("off_session") or p.get("error_on_requires_action")):
            return self.pi_fail(pi, pm, "authentication_required", ctx)
        if behavior == "decline":
            return self.pi_fail(pi, pm, m.get("decline") or "generic_decline", ctx)
        if behavior == "3ds":
            return self.require_action(pi, "last_payment_error", "payment_intent", p, ctx)
        if behavior == "processing":
            pi["status"] = "processing"
            pi["next_action"] = None
            pi["processing"] = {"card": {}, "type": "card"}
            self.emit("payment_intent.processing", pi, ctx)
            return None
        return self.pi_succeed(pi, pm, ctx)

    def require_action(self, intent, error_key, what, p, ctx):
        """An intent (what: payment_intent or setup_intent) now waits for 3-D Secure on the
        emulator's page, which returns to p's return_url when there is one."""
        url = "%s/_emulator/3ds/%s" % (self.base_url, intent["id"])
        return_url = p.get("return_url")
        intent["status"] = "requires_action"
        intent[error_key] = None
        if return_url:
            intent["next_action"] = {"redirect_to_url": {"return_url": return_url, "url": url},
                                     "type": "redirect_to_url"}
        else:
            intent["next_action"] = {"type": "use_stripe_sdk", "use_stripe_sdk": {
                "source": new_id("src"), "stripe_js": url, "type": "three_d_secure_redirect"}}
        self.meta[intent["id"]]["return_url"] = return_url
        self.emit(what + ".requires_action", intent, ctx)
        return None

    def make_charge(self, pi, pm, ok, decline=None, three_d_secure=False):
        ch = self.tmpl("charge")
        cid = new_id("ch")
        card = pm["card"]
        code, msg = DECLINES.get(decline, (None, None)) if not ok else (None, None)
        pmd = ch["payment_method_details"]
        pmd["card"].update({
            "amount_authorized": pi["amount"] if ok else None, "brand": card["brand"],
            "checks": {"address_line1_check": None, "address_postal_code_check": None,
                       "cvc_check": None},
            "country": card["country"], "exp_month": card["exp_month"],
            "exp_year": card["exp_year"], "fingerprint": card["fingerprint"],
            "funding": card["funding"], "last4": card["last4"], "network": card["brand"],
            "overcapture": {"maximum_amount_capturable": pi["amount"], "status": "unavailable"},
            "three_d_secure": {"authentication_flow": "challenge", "electronic_commerce_indicator":
                               "05", "result": "authenticated", "result_reason": None,
                               "transaction_id": rand(8).lower(), "version": "2.2.0"}
            if three_d_secure else None,
            "authorization_code": rand(6, string.digits) if ok else None,
            "network_transaction_id": rand(15, string.digits)})
        ch.update({
            "amount": pi["amount"], "amount_captured": pi["amount"] if ok else 0,
            "amount_refunded": 0, "application": None, "application_fee": None,
            "application_fee_amount": None,
            "balance_transaction": new_id("txn") if ok else None,
            "billing_details": copy.deepcopy(pm["billing_details"]),
            "calculated_statement_descriptor": "STRIPE EMULATOR", "captured": ok,
            "created": self.now(), "currency": pi["currency"], "customer": pi["customer"],
            "description": pi["description"], "disputed": False,
            "failure_balance_transaction": None, "failure_code": code, "failure_message": msg,
            "fraud_details": {}, "id": cid, "livemode": False,
            "metadata": copy.deepcopy(pi["metadata"]),
            "on_behalf_of": None,
            "outcome": {"advice_code": None, "network_advice_code": None,
                        "network_decline_code": None,
                        "network_status": "approved_by_network" if ok else "declined_by_network",
                        "reason": None if ok else decline,
                        "risk_level": "normal", "risk_score": _rng.randint(0, 60),
                        "seller_message": "Payment complete." if ok else
                        "The bank did not return any further details with this decline.",
                        "type": "authorized" if ok else "issuer_declined"},
            "paid": ok, "payment_intent": pi["id"], "payment_method": pm["id"],
            "payment_method_details": pmd, "receipt_email": pi["receipt_email"],
            "receipt_number": None,
            "receipt_url": "https://pay.stripe.com/receipts/payment/%s" % rand(80),
            "refunded": False,
            "refunds": {"data": [], "has_more": False, "object": "list",
                        "url": "/v1/charges/%s/refunds" % cid},
            "review": None, "shipping": copy.deepcopy(pi["shipping"]), "source_transfer": None,
            "statement_descriptor": pi["statement_descriptor"],
            "statement_descriptor_suffix": pi["statement_descriptor_suffix"],
            "status": "succeeded" if ok else "failed", "transfer_data": None,
            "transfer_group": pi["transfer_group"], "source": None})
        return self.put("charges", ch)

    def pi_succeed(self, pi, pm, ctx, three_d_secure=False):
        ch = self.make_charge(pi, pm, True, three_d_secure=three_d_secure)
        pi.update({"status": "succeeded", "amount_received": pi["amount"], "latest_charge": ch["id"],
                   "last_payment_error": None, "next_action": None, "processing": None})
        if pi["setup_future_usage"] and pi["customer"] and not pm["customer"]:
            self.attach_pm(pm, self.store["customers"][pi["customer"]], ctx)
        if not pm["customer"]:
            self.meta[pm["id"]]["consumed"] = True
        self.emit("charge.succeeded", ch, ctx)
        self.emit("payment_intent.succeeded", pi, ctx)
        return None

    @staticmethod
    def decline_error(pm, decline, charge=None):
        """A decline's card_error, as last_payment_error or last_setup_error shows it."""
        code, msg = DECLINES[decline]
        err = {"charge": charge} if charge else {}
        err.update({"code": code,
                    "doc_url": "https://stripe.com/docs/error-codes/%s" % code.replace("_", "-"),
                    "message": msg, "payment_method": copy.deepcopy(pm), "type": "card_error"})
        if code in ("card_declined", "expired_card", "authentication_required"):
            err["decline_code"] = decline if code == "card_declined" else code
        return err

    @staticmethod
    def raise_decline(err, member, obj):
        """The 402 for err, carrying the intent (obj) under member, as Stripe answers it."""
        extra = {k: v for k, v in err.items() if k not in ("code", "doc_url", "message", "type")}
        extra[member] = copy.deepcopy(obj)
        raise ApiError(402, err["message"], type="card_error", code=err["code"], extra=extra)

    def pi_fail(self, pi, pm, decline, ctx):
        ch = self.make_charge(pi, pm, False, decline)
        err = self.decline_error(pm, decline, ch["id"])
        pi.update({"status": "requires_payment_method", "last_payment_error": err,
                   "latest_charge": ch["id"], "payment_method": None, "next_action": None,
                   "processing": None})
        if not pm["customer"]:
            self.meta[pm["id"]]["consumed"] = True
        self.emit("charge.failed", ch, ctx)
        self.emit("payment_intent.payment_failed", pi, ctx)
        self.raise_decline(err, "payment_intent", pi)

    def h_pi_cancel(self, ctx, p, pp):
        pi = self.get("payment_intents", pp["intent"])
        if pi["status"] in ("succeeded", "canceled"):
            raise ApiError(400, "You cannot cancel this PaymentIntent because it has a status of "
                                "%s. Only a PaymentIntent with one of the following statuses may "
                                "be canceled: requires_payment_method, requires_capture, "
                                "requires_confirmation, requires_action, processing." % pi["status"],
                           code="payment_intent_unexpected_state",
                           extra={"payment_intent": copy.deepcopy(pi)})
        pi.update({"status": "canceled", "canceled_at": self.now(),
                   "cancellation_reason": p.get("cancellation_reason"), "next_action": None,
                   "processing": None})
        self.emit("payment_intent.canceled", pi, ctx)
        return 200, pi

    def complete_action(self, pi, result, ctx=None):
        if pi["status"] not in ("requires_action", "processing"):
            raise ApiError(400, "PaymentIntent %s is %s, not requires_action or processing."
                           % (pi["id"], pi["status"]))
        pm = self.store["payment_methods"][pi["payment_method"]]
        if result in ("succeeded", "success", "ok"):
            self.pi_succeed(pi, pm, ctx, three_d_secure=pi["status"] == "requires_action")
        else:
            self.pi_fail(pi, pm, "payment_intent_authentication_failure"
                         if pi["status"] == "requires_action" else "generic_decline", ctx)
        return pi

    # ---- refunds ---------------------------------------------------------
    def h_refund_create(self, ctx, p, pp):
        if not p.get("payment_intent") and not p.get("charge"):
            raise ApiError(400, "One of the following params should be provided for this request: "
                                "payment_intent or charge.", code="parameter_missing")
        if p.get("payment_intent") and p.get("charge"):
            raise ApiError(400, "You may only specify one of these parameters: charge, "
                                "payment_intent.", code="parameters_exclusive")
        if p.get("payment_intent"):
            pi = self.get("payment_intents", p["payment_intent"], "payment_intent", 400)
            if pi["status"] != "succeeded" or not pi["latest_charge"]:
                raise ApiError(400, "This PaymentIntent (%s) does not have a successful charge to "
                                    "refund." % pi["id"], param="payment_intent")
            ch = self.store["charges"][pi["latest_charge"]]
        else:
            ch = self.get("charges", p["charge"], "charge", 400)
            pi = self.store["payment_intents"].get(ch["payment_intent"])
        if ch["status"] != "succeeded":
            raise ApiError(400, "Charge %s has not succeeded and cannot be refunded." % ch["id"],
                           param="charge")
        left = ch["amount_captured"] - ch["amount_refunded"]
        if left <= 0:
            raise ApiError(400, "Charge %s has already been refunded." % ch["id"],
                           code="charge_already_refunded")
        amount = p.get("amount", left)
        if amount <= 0:
            raise ApiError(400, "Invalid positive integer", code="parameter_invalid_integer",
                           param="amount")
        if amount > left:
            raise ApiError(400, "Refund amount (%s) is greater than unrefunded amount on charge "
                                "(%s)" % (fmt_money(amount, ch["currency"]),
                                          fmt_money(left, ch["currency"])),
                           code="amount_too_large", param="amount")
        re_ = self.tmpl("refund")
        re_.update({"amount": amount, "balance_transaction": new_id("txn"), "charge": ch["id"],
                    "created": self.now(), "currency": ch["currency"], "id": new_id("re"),
                    "metadata": self.metadata({}, p.get("metadata", {})), "object": "refund",
                    "payment_intent": ch["payment_intent"], "reason": p.get("reason"),
                    "receipt_number": None, "source_transfer_reversal": None,
                    "status": "succeeded", "transfer_reversal": None,
                    "customer": ch["customer"], "customer_account": None,
                    "payment_method": ch["payment_method"]})
        re_["destination_details"] = {"card": {"reference_status": "pending",
                                               "reference_type": "acquirer_reference_number",
                                               "type": "refund"}, "type": "card"}
        self.put("refunds", re_)
        ch["amount_refunded"] += amount
        ch["refunded"] = ch["amount_refunded"] >= ch["amount_captured"]
        ch["refunds"]["data"].insert(0, copy.deepcopy(re_))
        self.emit("refund.created", re_, ctx)
        self.emit("charge.refunded", ch, ctx)
        return 200, re_

    # ---- prices ------------------------------------------------------------
    def make_price(self, pid=None, unit_amount=2000, currency="usd", recurring=None,
                   product=None, product_name=None, lookup_key=None):
        price = {
            "active": True, "billing_scheme": "per_unit", "created": self.now(),
            "currency": currency, "custom_unit_amount": None, "id": pid or new_id("price"),
            "livemode": False, "lookup_key": lookup_key, "metadata": {}, "nickname": None,
            "object": "price", "product": product or new_id("prod", 14),
            "recurring": None, "tax_behavior": "unspecified", "tiers_mode": None,
            "transform_quantity": None, "type": "one_time", "unit_amount": unit_amount,
            "unit_amount_decimal": str(unit_amount)}
        if recurring:
            price["type"] = "recurring"
            price["recurring"] = {"interval": recurring.get("interval", "month"),
                                  "interval_count": int(recurring.get("interval_count", 1)),
                                  "meter": None, "usage_type": "licensed",
                                  "trial_period_days": None}
        return self.put("prices", price, product_name=product_name or "Product")

    # Stripe's longest recurring period: three years.
    MAX_INTERVAL_COUNT = {"day": 1095, "week": 156, "month": 36, "year": 3}

    def make_product(self, p):
        if p.get("id") and p["id"] in self.store["products"]:
            raise ApiError(400, "Product already exists.", code="resource_already_exists",
                           param="id")
        now = self.now()
        prod = {
            "active": p.get("active", True), "created": now, "default_price": None,
            "description": p.get("description") or None, "id": p.get("id") or new_id("prod", 14),
            "images": p.get("images") or [], "livemode": False, "marketing_features": [],
            "metadata": self.metadata({}, p.get("metadata", {})), "name": p["name"],
            "object": "product", "package_dimensions": None, "shippable": p.get("shippable"),
            "statement_descriptor": p.get("statement_descriptor") or None,
            "tax_code": p.get("tax_code") or None, "type": "service",
            "unit_label": p.get("unit_label") or None, "updated": now, "url": p.get("url") or None}
        return self.put("products", prod)

    def h_products_create(self, ctx, p, pp):
        if not p.get("name"):
            raise ApiError(400, "Missing required param: name.", code="parameter_missing",
                           param="name")
        return 200, self.make_product(p)

    def h_products_retrieve(self, ctx, p, pp):
        return 200, self.get("products", pp["id"])

    def h_prices_create(self, ctx, p, pp):
        if p.get("product") and p.get("product_data"):
            raise ApiError(400, "You may only specify one of these parameters: product, "
                                "product_data.", code="parameters_exclusive")
        if p.get("product"):
            product = self.get("products", p["product"], param="product", status=400)
        elif p.get("product_data"):
            product = self.make_product(p["product_data"])
        else:
            raise ApiError(400, "You must specify either `product` or `product_data` when "
                                "creating a price.", code="parameter_missing", param="product")
        if "unit_amount" not in p:
            raise ApiError(400, "Missing required param: unit_amount.", code="parameter_missing",
                           param="unit_amount")
        amount, currency = p["unit_amount"], p["currency"].lower()
        if not re.match(r"^[a-z]{3}$", currency):
            raise ApiError(400, "Invalid currency: %s." % currency, param="currency")
        if not 0 <= amount <= 99999999:
            raise ApiError(400, "Invalid integer: %s" % amount, param="unit_amount")
        rec = p.get("recurring")
        if rec is not None:
            count = rec.get("interval_count", 1)
            if not 1 <= count <= self.MAX_INTERVAL_COUNT[rec["interval"]]:
                raise ApiError(400, "The maximum billing frequency is 3 years.",
                               param="recurring[interval_count]")
        price = self.make_price(None, amount, currency, rec, product["id"], product["name"],
                                p.get("lookup_key"))
        price["metadata"] = self.metadata({}, p.get("metadata", {}))
        price["nickname"] = p.get("nickname") or None
        if p.get("active") is False:
            price["active"] = False
        return 200, price

    def h_prices_retrieve(self, ctx, p, pp):
        return 200, self.get("prices", pp["price"])

    def h_prices_update(self, ctx, p, pp):
        price = self.get("prices", pp["price"])
        if "active" in p:
            price["active"] = p["active"]
        if "metadata" in p:
            price["metadata"] = self.metadata(price["metadata"], p["metadata"])
        for k in ("nickname", "lookup_key"):
            if k in p:
                price[k] = p[k] or None
        return 200, price

    def price_ref(self, pid, param, recurring_hint):
        price = self.store["prices"].get(pid)
        if price is None:
            if not pid.startswith(("price_", "plan_")):
                raise missing(pid, "price", param, 400)
            # Unknown ids are synthesized (lenient): 20.00 usd, monthly in subscription mode.
            price = self.make_price(pid, recurring={"interval": "month"} if recurring_hint else None)
        return price

    @staticmethod
    def plan_of(price):
        r = price["recurring"] or {}
        return {"active": True, "amount": price["unit_amount"],
                "amount_decimal": price["unit_amount_decimal"], "billing_scheme": "per_unit",
                "created": price["created"], "currency": price["currency"], "id": price["id"],
                "interval": r.get("interval"), "interval_count": r.get("interval_count"),
                "livemode": False, "metadata": {}, "meter": None, "nickname": None,
                "object": "plan", "product": price["product"], "tiers_mode": None,
                "transform_usage": None, "trial_period_days": None, "usage_type": "licensed"}

    # ---- checkout sessions -------------------------------------------------
    def h_cs_create(self, ctx, p, pp):
        mode = p.get("mode")
        if not mode:
            raise ApiError(400, "Missing required param: mode.", code="parameter_missing",
                           param="mode")
        if mode == "setup" and not p.get("currency") and not p.get("payment_method_types"):
            # A rule of Stripe's the OpenAPI schema cannot express: a setup session must
            # know which payment methods to offer, from a currency or a list of types.
            raise ApiError(400, "You must provide one of `currency` or `payment_method_types` "
                                "when creating a Checkout Session in `setup` mode.",
                           code="parameter_missing", param="currency")
        items = p.get("line_items") or []
        if mode == "setup":
            if items:
                raise ApiError(400, "You cannot pass `line_items` in `setup` mode.",
                               param="line_items")
        elif not items:
            raise ApiError(400, "You must specify either `line_items` or `price`... in `%s` mode."
                           % mode, code="parameter_missing", param="line_items")
        if p.get("customer") and p.get("customer_email"):
            raise ApiError(400, "You may only specify one of these parameters: customer, "
                                "customer_email.", code="parameters_exclusive")
        cust = self.customer_ref(p["customer"]) if p.get("customer") else None
        lines, currency, subtotal = [], None, 0
        for i, it in enumerate(items):
            base = "line_items[%d]" % i
            if it.get("price") and it.get("price_data"):
                raise ApiError(400, "You may only specify one of these parameters: price, "
                                    "price_data.", code="parameters_exclusive", param=base)
            if it.get("price"):
                price = self.price_ref(it["price"], base + "[price]", mode == "subscription")
            elif it.get("price_data"):
                pd = it["price_data"]
                if not pd.get("product") and not pd.get("product_data"):
                    raise ApiError(400, "You must specify either `product` or `product_data` when "
                                        "creating a price.", code="parameter_missing",
                                   param=base + "[price_data][product_data]")
                if "unit_amount" not in pd and "unit_amount_decimal" not in pd:
                    raise ApiError(400, "Missing required param: %s[price_data][unit_amount]."
                                   % base, code="parameter_missing",
                                   param=base + "[price_data][unit_amount]")
                ua = pd.get("unit_amount")
                if ua is None:
                    ua = int(float(pd["unit_amount_decimal"]))
                price = self.make_price(None, ua, pd["currency"].lower(), pd.get("recurring"),
                                        pd.get("product"),
                                        (pd.get("product_data") or {}).get("name"))
            else:
                raise ApiError(400, "You must specify either `price` or `price_data` in each "
                                    "line item.", code="parameter_missing", param=base)
            if "quantity" not in it:
                raise ApiError(400, "Quantity is required. Add `quantity` to `%s`" % base,
                               code="parameter_missing", param=base + "[quantity]")
            qty = it["quantity"]
            if qty < 1:
                raise ApiError(400, "Quantity must be at least 1.", param=base + "[quantity]")
            if currency and price["currency"] != currency:
                raise ApiError(400, "All prices on a Checkout Session must use the same currency.",
                               param=base)
            currency = price["currency"]
            lines.append({"price": price["id"], "quantity": qty})
            subtotal += price["unit_amount"] * qty
        recurring = [self.store["prices"][l["price"]]["recurring"] for l in lines]
        if mode == "payment" and any(recurring):
            raise ApiError(400, "You specified `payment` mode but passed a recurring price. Either "
                                "switch to `subscription` mode or use only one-time prices.",
                           param="line_items")
        if mode == "subscription" and not any(recurring):
            raise ApiError(400, "You must provide at least one recurring price in `subscription` "
                                "mode when using prices.", param="line_items")
        if mode == "payment":
            self.check_amount(subtotal, currency, "line_items")
        if mode == "setup":
            # Completing one is not modelled (complete_session answers 400 for it).
            currency, subtotal = (p.get("currency") or "").lower() or None, None
        now = self.now()
        expires = p.get("expires_at", now + 86400)
        if not now + 1800 <= expires <= now + 86400:
            raise ApiError(400, "The `expires_at` timestamp must be between 30 minutes and 24 "
                                "hours from Checkout Session creation.", param="expires_at")
        cs = self.tmpl("checkout.session")
        sid = "cs_test_a1" + rand(56)
        cs.update({
            "after_expiration": None, "allow_promotion_codes": p.get("allow_promotion_codes"),
            "amount_subtotal": subtotal, "amount_total": subtotal,
            "automatic_tax": {"enabled": False, "liability": None, "status": None,
                              "provider": None},
            "billing_address_collection": p.get("billing_address_collection"),
            "cancel_url": p.get("cancel_url"), "client_reference_id": p.get("client_reference_id"),
            "client_secret": None, "consent": None, "consent_collection": None, "created": now,
            "currency": currency, "custom_fields": [],
            "custom_text": {"after_submit": None, "shipping_address": None, "submit": None,
                            "terms_of_service_acceptance": None},
            "customer": cust and cust["id"],
            "customer_creation": None if cust or mode == "subscription" else
            p.get("customer_creation", "if_required"),
            "customer_details": {"address": None, "email": cust["email"], "name": cust["name"],
                                 "phone": cust["phone"], "tax_exempt": cust["tax_exempt"],
                                 "tax_ids": [], "business_name": None, "individual_name": None}
            if cust else None,
            "customer_email": p.get("customer_email"), "expires_at": expires, "id": sid,
            "invoice": None,
            "invoice_creation": {"enabled": False, "invoice_data": {
                "account_tax_ids": None, "custom_fields": None, "description": None,
                "footer": None, "issuer": None, "metadata": {}, "rendering_options": None}}
            if mode == "payment" else None,
            "livemode": False, "locale": p.get("locale"),
            "metadata": self.metadata({}, p.get("metadata", {})), "mode": mode,
            "object": "checkout.session", "payment_intent": None, "payment_link": None,
            "payment_method_collection": "always" if mode == "subscription" else None,
            "payment_method_configuration_details": None, "payment_method_options": {},
            "payment_method_types": p.get("payment_method_types") or ["card"],
            "payment_status": "unpaid", "phone_number_collection": {"enabled": False},
            "recovered_from": None,
            "saved_payment_method_options": {"allow_redisplay_filters": ["always"],
                                             "payment_method_remove": None,
                                             "payment_method_save": None} if cust else None,
            "setup_intent": None, "shipping_address_collection": None, "shipping_cost": None,
            "shipping_options": [], "status": "open", "submit_type": p.get("submit_type"),
            "subscription": None, "success_url": p.get("success_url"),
            "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
            "ui_mode": "hosted", "url": "%s/_emulator/checkout/%s" % (self.base_url, sid),
            "adaptive_pricing": {"enabled": False}, "discounts": [],
            "collected_information": None, "permissions": None, "wallet_options": None,
            "origin_context": None, "currency_conversion": None, "customer_account": None,
            "integration_identifier": None, "managed_payments": {"enabled": False}})
        self.put("checkout_sessions", cs, lines=lines,
                 payment_intent_data=p.get("payment_intent_data") or {},
                 subscription_data=p.get("subscription_data") or {})
        return 200, cs

    def session_line_items(self, sid):
        out = []
        for l in self.meta[sid]["lines"]:
            price = self.store["prices"][l["price"]]
            amt = price["unit_amount"] * l["quantity"]
            out.append({"amount_discount": 0, "amount_subtotal": amt, "amount_tax": 0,
                        "amount_total": amt, "currency": price["currency"],
                        "description": self.meta[price["id"]].get("product_name"),
                        "id": "li_" + rand(24), "object": "item",
                        "price": copy.deepcopy(price), "quantity": l["quantity"]})
        return {"object": "list", "data": out, "has_more": False,
                "url": "/v1/checkout/sessions/%s/line_items" % sid}

    def expire_sessions(self):
        now = self.now()
        for cs in list(self.store["checkout_sessions"].values()):
            if cs["status"] == "open" and cs["expires_at"] <= now:
                self.expire_session(cs)

    def expire_session(self, cs, ctx=None):
        if cs["status"] != "open":
            raise ApiError(400, "Only Checkout Sessions with a status of `open` can be expired.")
        cs["status"] = "expired"
        cs["url"] = None
        self.emit("checkout.session.expired", cs, ctx)

    def h_cs_retrieve(self, ctx, p, pp):
        self.expire_sessions()
        return 200, self.get("checkout_sessions", pp["session"])

    def complete_session(self, cs, pm_token="pm_card_visa", email=None, name=None):
        self.expire_sessions()
        if cs["status"] != "open":
            raise ApiError(400, "This Checkout Session is %s and can no longer be completed."
                           % cs["status"])
        if cs["mode"] == "setup":
            raise ApiError(400, "The emulator does not model completing a setup-mode session.")
        m = self.meta[cs["id"]]
        cust = self.store["customers"].get(cs["customer"]) if cs["customer"] else None
        email = email or (cust and cust["email"]) or cs["customer_email"] or "customer@example.com"
        pm = self.resolve_pm(pm_token)
        if cust and pm["customer"] and pm["customer"] != cust["id"]:
            raise ApiError(400, "That PaymentMethod belongs to another customer.",
                           param="payment_method")
        details = {"address": {"city": None, "country": "US", "line1": None, "line2": None,
                               "postal_code": "94103", "state": None},
                   "email": email, "name": name or (cust and cust["name"]), "phone": None,
                   "tax_exempt": "none", "tax_ids": [], "business_name": None,
                   "individual_name": None}
        pm["billing_details"].update({"email": email, "name": details["name"]})
        pm["billing_details"]["address"].update({"country": "US", "postal_code": "94103"})
        if cs["mode"] == "payment":
            pid = m.get("payment_intent_data") or {}
            if cust is None and cs["customer_creation"] == "always":
                cust = self.create_customer_for(email, details["name"])
                cs["customer"] = cust["id"]
            if cs["payment_intent"]:
                pi = self.store["payment_intents"][cs["payment_intent"]]
            else:
                status, pi = self.h_pi_create(None, {
                    "amount": cs["amount_total"], "currency": cs["currency"],
                    "customer": cust["id"] if cust else None,
                    "metadata": pid.get("metadata", {}),
                    "description": pid.get("description"),
                    "setup_future_usage": pid.get("setup_future_usage"),
                    "receipt_email": pid.get("receipt_email")}, {})
                pi["payment_method_types"] = ["card"]
                cs["payment_intent"] = pi["id"]
            self.check_pm_for(pm, pi["customer"])
            # The hosted page handles 3-D Secure itself; treat it as authenticated.
            self.confirm_pi(pi, {"payment_method": pm["id"]}, None, auto_authenticate=True)
            if pi["status"] != "succeeded":
                raise ApiError(400, "PaymentIntent %s is %s" % (pi["id"], pi["status"]))
        else:
            if cust is None:
                cust = self.create_customer_for(email, details["name"])
                cs["customer"] = cust["id"]
            if not pm["customer"]:
                if self.meta[pm["id"]].get("behavior") == "decline":
                    code, msg = DECLINES[self.meta[pm["id"]].get("decline") or "generic_decline"]
                    raise ApiError(402, msg, type="card_error", code=code,
                                   extra={"decline_code": self.meta[pm["id"]].get("decline"),
                                          "payment_method": copy.deepcopy(pm)})
                self.attach_pm(pm, cust, None)
            sd = m.get("subscription_data") or {}
            sub = self.create_subscription(cust, [(self.store["prices"][l["price"]], l["quantity"])
                                                  for l in m["lines"]],
                                           pm["id"], sd.get("metadata") or {}, None,
                                           trial_days=sd.get("trial_period_days"))
            cs["subscription"] = sub["id"]
            cs["invoice"] = sub["latest_invoice"]
        cs.update({"status": "complete", "payment_status": "paid", "url": None,
                   "customer_details": details})
        if cs["mode"] == "payment" and cs["amount_total"] == 0:
            cs["payment_status"] = "no_payment_required"
        self.emit("checkout.session.completed", cs, None)
        return cs

    def create_customer_for(self, email, name):
        _, c = self.h_customers_create(None, {"email": email, "name": name}, {})
        return c

    # ---- subscriptions and invoices ---------------------------------------
    def create_subscription(self, cust, items, pm_id, metadata, ctx, trial_days=None,
                            status="active"):
        now = self.now()
        sub = self.tmpl("subscription")
        sid = new_id("sub")
        sitems = []
        first = items[0][0]["recurring"] or {"interval": "month", "interval_count": 1}
        trial_end = now + int(trial_days) * 86400 if trial_days else None
        period_end = trial_end or add_interval(now, first["interval"], first["interval_count"])
        for price, qty in items:
            sitems.append({"created": now, "discounts": [], "id": new_id("si", 14), "metadata": {},
                           "object": "subscription_item", "price": copy.deepcopy(price),
                           "quantity": qty, "subscription": sid, "tax_rates": [],
                           "plan": self.plan_of(price), "current_period_end": period_end,
                           "current_period_start": now, "billing_thresholds": None})
        sub.update({
            "application": None, "application_fee_percent": None,
            "automatic_tax": {"enabled": False, "liability": None, "disabled_reason": None},
            "billing_cycle_anchor": period_end if trial_end else now,
            "billing_cycle_anchor_config": None, "cancel_at": None, "canceled_at": None,
            "cancellation_details": {"comment": None, "feedback": None, "reason": None},
            "collection_method": "charge_automatically", "created": now,
            "currency": items[0][0]["currency"], "customer": cust["id"], "days_until_due": None,
            "default_payment_method": pm_id, "default_source": None, "default_tax_rates": [],
            "description": None, "discounts": [], "ended_at": None, "id": sid,
            "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
            "items": {"data": sitems, "has_more": False, "object": "list",
                      "url": "/v1/subscription_items?subscription=%s" % sid},
            "latest_invoice": None, "livemode": False, "metadata": dict(metadata),
            "next_pending_invoice_item_invoice": None, "object": "subscription",
            "on_behalf_of": None, "pause_collection": None,
            "payment_settings": {"payment_method_options": None, "payment_method_types": None,
                                 "save_default_payment_method": "off"},
            "pending_invoice_item_interval": None, "pending_setup_intent": None,
            "pending_update": None, "schedule": None, "start_date": now,
            "status": "trialing" if trial_end else status, "test_clock": None,
            "transfer_data": None, "trial_end": trial_end,
            "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
            "trial_start": now if trial_end else None, "cancel_at_period_end": False,
            "billing_thresholds": None, "billing_mode": {"type": "classic", "flexible": None},
            "customer_account": None, "managed_payments": {"enabled": False},
            "billing_schedules": []})
        for k in ("description", "footer", "custom_fields"):
            sub["invoice_settings"].setdefault(k, None)
        if cust.get("currency") is None:
            cust["currency"] = sub["currency"]
        inv = self.make_invoice(sub, cust, "subscription_create", paid=True,
                                amount_zero=bool(trial_end))
        sub["latest_invoice"] = inv["id"]
        self.put("subscriptions", sub)
        self.emit("customer.subscription.created", sub, ctx)
        self.emit("invoice.paid", inv, ctx)
        return sub

    def make_invoice(self, sub, cust, reason, paid, amount_zero=False):
        now = self.now()
        inv = self.tmpl("invoice")
        iid = new_id("in")
        lines, total = [], 0
        for si in sub["items"]["data"]:
            price = si["price"]
            amt = 0 if amount_zero else price["unit_amount"] * si["quantity"]
            total += amt
            r = price["recurring"] or {}
            lines.append({
                "amount": amt, "currency": price["currency"],
                "description": "%d × %s (at %s / %s)" % (
                    si["quantity"], self.meta.get(price["id"], {}).get("product_name", "Product"),
                    fmt_money(price["unit_amount"], price["currency"]), r.get("interval")),
                "discount_amounts": [], "discountable": True, "discounts": [],
                "id": new_id("il"), "invoice": iid, "livemode": False, "metadata": {},
                "object": "line_item",
                "period": {"start": si["current_period_start"], "end": si["current_period_end"]},
                "quantity": si["quantity"], "subscription": sub["id"],
                "pretax_credit_amounts": [], "taxes": [],
                "parent": {"invoice_item_details": None, "subscription_item_details": {
                    "invoice_item": None, "proration": False,
                    "proration_details": {"credited_items": None}, "subscription": sub["id"],
                    "subscription_item": si["id"]}, "type": "subscription_item_details"},
                "pricing": {"price_details": {"price": price["id"], "product": price["product"]},
                            "type": "price_details",
                            "unit_amount_decimal": price["unit_amount_decimal"]},
                "subtotal": amt, "quantity_decimal": None})
        number = "%s-%04d" % (cust["invoice_prefix"], cust["next_invoice_sequence"])
        cust["next_invoice_sequence"] += 1
        inv.update({
            "account_country": "US", "account_name": "Stripe Emulator", "account_tax_ids": None,
            "amount_due": total, "amount_paid": total if paid else 0,
            "amount_remaining": 0 if paid else total, "amount_shipping": 0, "application": None,
            "attempt_count": 1, "attempted": True, "auto_advance": not paid,
            "automatic_tax": {"enabled": False, "liability": None, "status": None,
                              "disabled_reason": None, "provider": None},
            "billing_reason": reason, "collection_method": "charge_automatically",
            "created": now, "currency": sub["currency"], "custom_fields": None,
            "customer": cust["id"], "customer_address": cust["address"],
            "customer_email": cust["email"], "customer_name": cust["name"],
            "customer_phone": cust["phone"], "customer_shipping": cust["shipping"],
            "customer_tax_exempt": cust["tax_exempt"], "customer_tax_ids": [],
            "default_payment_method": None, "default_source": None, "default_tax_rates": [],
            "description": None, "discounts": [], "due_date": None, "effective_at": now,
            "ending_balance": 0, "footer": None, "from_invoice": None,
            "hosted_invoice_url": "%s/_emulator/invoices/%s" % (self.base_url, iid),
            "id": iid, "invoice_pdf": "%s/_emulator/invoices/%s/pdf" % (self.base_url, iid),
            "issuer": {"type": "self"}, "last_finalization_error": None, "latest_revision": None,
            "lines": {"data": lines, "has_more": False, "object": "list",
                      "url": "/v1/invoices/%s/lines" % iid},
            "livemode": False, "metadata": {},
            "next_payment_attempt": None if paid else now + 3 * 86400, "number": number,
            "object": "invoice", "on_behalf_of": None,
            "payment_settings": {"default_mandate": None, "payment_method_options": None,
                                 "payment_method_types": None},
            "period_end": now, "period_start": now, "post_payment_credit_notes_amount": 0,
            "pre_payment_credit_notes_amount": 0, "receipt_number": None,
            "rendering": {"amount_tax_display": None, "pdf": {"page_size": "auto"},
                          "template": None, "template_version": None},
            "shipping_cost": None, "shipping_details": None, "starting_balance": 0,
            "statement_descriptor": None, "status": "paid" if paid else "open",
            "status_transitions": {"finalized_at": now, "marked_uncollectible_at": None,
                                   "paid_at": now if paid else None, "voided_at": None},
            "subscription": None, "subtotal": total, "subtotal_excluding_tax": total,
            "test_clock": None, "total": total, "total_discount_amounts": [],
            "total_excluding_tax": total, "webhooks_delivered_at": now,
            "automatically_finalizes_at": None, "total_pretax_credit_amounts": [],
            "total_taxes": [], "amount_overpaid": 0,
            "parent": {"quote_details": None, "subscription_details": {
                "metadata": copy.deepcopy(sub["metadata"]), "subscription": sub["id"]},
                "type": "subscription_details"},
            "customer_account": None})
        return self.put("invoices", inv)

    def update_subscription(self, sub, changes, ctx):
        old = copy.deepcopy(sub)
        sub.update(changes)
        prev = diff(old, sub)
        if prev:
            self.emit("customer.subscription.updated", sub, ctx, prev)
        return sub

    def cancel_subscription(self, sub, ctx, reason="cancellation_requested"):
        if sub["status"] == "canceled":
            raise ApiError(400, "This subscription has already been canceled.",
                           code="resource_missing")
        now = self.now()
        sub.update({"status": "canceled", "canceled_at": now, "ended_at": now,
                    "cancellation_details": {"comment": None, "feedback": None, "reason": reason}})
        self.emit("customer.subscription.deleted", sub, ctx)
        return sub

    def renew_subscription(self, sub, fail=False, ctx=None):
        if sub["status"] == "canceled":
            raise ApiError(400, "Subscription %s is canceled." % sub["id"])
        cust = self.store["customers"][sub["customer"]]
        changes = {}
        items = copy.deepcopy(sub["items"])
        for si in items["data"]:
            r = si["price"]["recurring"] or {"interval": "month", "interval_count": 1}
            start = si["current_period_end"]
            si["current_period_start"] = start
            si["current_period_end"] = add_interval(start, r["interval"], r["interval_count"])
        changes["items"] = items
        if sub["cancel_at_period_end"]:
            self.update_subscription(sub, changes, ctx)
            return self.cancel_subscription(sub, ctx)
        inv = self.make_invoice(dict(sub, items=items), cust, "subscription_cycle", paid=not fail)
        changes["latest_invoice"] = inv["id"]
        if sub["status"] == "trialing" or fail:
            changes["status"] = "past_due" if fail else "active"
        if not fail and sub["status"] == "past_due":
            changes["status"] = "active"
        self.emit("invoice.payment_failed" if fail else "invoice.paid", inv, ctx)
        return self.update_subscription(sub, changes, ctx)

    def h_sub_retrieve(self, ctx, p, pp):
        return 200, self.get("subscriptions", pp["subscription_exposed_id"])

    def h_sub_update(self, ctx, p, pp):
        sub = self.get("subscriptions", pp["subscription_exposed_id"])
        if sub["status"] == "canceled" and set(p) - {"metadata", "cancellation_details", "expand"}:
            raise ApiError(400, "A canceled subscription can only update its cancellation_details "
                                "and metadata.")
        ch = {}
        if "cancel_at_period_end" in p:
            cape = p["cancel_at_period_end"]
            ch["cancel_at_period_end"] = cape
            ch["cancel_at"] = sub["items"]["data"][0]["current_period_end"] if cape else None
            # As Stripe: canceled_at is the time of the latest request to cancel at period end.
            ch["canceled_at"] = self.now() if cape else None
            ch["cancellation_details"] = dict(sub["cancellation_details"],
                                              reason="cancellation_requested" if cape else None)
        if "cancel_at" in p:
            ch["cancel_at"] = p["cancel_at"] or None
        if "metadata" in p:
            ch["metadata"] = self.metadata(sub["metadata"], p["metadata"])
        if "description" in p:
            ch["description"] = p["description"] or None
        if "default_payment_method" in p:
            dpm = p["default_payment_method"]
            if dpm:
                pm = self.store["payment_methods"].get(dpm)
                if pm is None or pm["customer"] != sub["customer"]:
                    raise ApiError(400, "The customer does not have a payment method with the ID "
                                        "%s. The payment method must be attached to the customer."
                                   % dpm, param="default_payment_method")
            ch["default_payment_method"] = dpm or None
        if "cancellation_details" in p and p["cancellation_details"]:
            cd = dict(ch.get("cancellation_details", sub["cancellation_details"]))
            cd.update({k: (v or None) for k, v in p["cancellation_details"].items()})
            ch["cancellation_details"] = cd
        return 200, self.update_subscription(sub, ch, ctx)

    def h_sub_cancel(self, ctx, p, pp):
        sub = self.get("subscriptions", pp["subscription_exposed_id"])
        if p.get("cancellation_details"):
            sub["cancellation_details"].update(p["cancellation_details"])
        return 200, self.cancel_subscription(sub, ctx)

    # ---- billing portal, events -------------------------------------------
    def h_portal_create(self, ctx, p, pp):
        cust = self.customer_ref(p["customer"])
        s = self.tmpl("billing_portal.session")
        bid = new_id("bps")
        s.update({"configuration": p.get("configuration") or self.portal_configuration,
                  "created": self.now(), "customer": cust["id"], "flow": None, "id": bid,
                  "livemode": False, "locale": p.get("locale"),
                  "object": "billing_portal.session", "on_behalf_of": p.get("on_behalf_of"),
                  "return_url": p.get("return_url"),
                  "url": "%s/_emulator/billing_portal/%s" % (self.base_url, bid),
                  "customer_account": None})
        self.put("billing_portal_sessions", s)
        return 200, s

    def h_event_retrieve(self, ctx, p, pp):
        return 200, self.get("events", pp["id"])

    def h_event_list(self, ctx, p, pp):
        if p.get("type") and p.get("types"):
            raise ApiError(400, "You may only specify one of these parameters: type, types.",
                           code="parameters_exclusive")
        pats = p.get("types") or ([p["type"]] if p.get("type") else None)
        pred_c = self.created_filter(p.get("created"))
        items = self.newest_first("events", lambda e: pred_c(e) and (
            pats is None or any(fnmatch.fnmatchcase(e["type"], x) for x in pats)))
        if "delivery_success" in p:
            want = p["delivery_success"]
            items = [e for e in items if (e["pending_webhooks"] == 0) == want]
        return 200, self.paginate("events", items, p, "/v1/events")

    # ---- setup intents ----------------------------------------------------
    def h_si_create(self, ctx, p, pp):
        cust = self.customer_ref(p["customer"]) if p.get("customer") else None
        pm = None
        if p.get("payment_method"):
            pm = self.resolve_pm(p["payment_method"])
            self.check_pm_for(pm, cust and cust["id"])
        if p.get("confirm") is not True and "return_url" in p:
            raise ApiError(400, "You can only pass `return_url` when `confirm=true`.",
                           param="return_url")
        apm, pmt = self.payment_method_choice(p)
        si = self.tmpl("setup_intent")
        sid = new_id("seti")
        si.update({
            "automatic_payment_methods": {"allow_redirects": apm.get("allow_redirects", "always"),
                                          "enabled": apm.get("enabled", True)}
            if apm else None,
            "client_secret": "%s_secret_%s" % (sid, rand(25)), "created": self.now(),
            "customer": cust and cust["id"], "description": p.get("description") or None,
            "id": sid, "last_setup_error": None, "latest_attempt": None, "livemode": False,
            "metadata": self.metadata({}, p.get("metadata", {})), "next_action": None,
            "payment_method": pm and pm["id"],
            "payment_method_configuration_details":
                {"id": self.portal_configuration.replace("bpc_", "pmc_"), "parent": None}
                if apm else None,
            "payment_method_types": pmt or ["card"],
            "status": "requires_confirmation" if pm else "requires_payment_method",
            "usage": p.get("usage", "off_session")})
        self.put("setup_intents", si)
        self.emit("setup_intent.created", si, ctx)
        if p.get("confirm") is True:
            self.confirm_si(si, p, ctx)
        return 200, si

    def h_si_retrieve(self, ctx, p, pp):
        si = self.get("setup_intents", pp["intent"])
        if "client_secret" in p and p["client_secret"] != si["client_secret"]:
            raise ApiError(400, "The client_secret provided does not match the client_secret "
                                "associated with the SetupIntent.", param="client_secret")
        return 200, si

    def h_si_confirm(self, ctx, p, pp):
        si = self.get("setup_intents", pp["intent"])
        self.confirm_si(si, p, ctx)
        return 200, si

    def confirm_si(self, si, p, ctx):
        """Like confirm_pi without money: a good card is attached to the intent's customer."""
        st = si["status"]
        if st not in ("requires_payment_method", "requires_confirmation", "requires_action"):
            raise ApiError(400, "This SetupIntent's status is %s, but it must be one of "
                                "requires_payment_method, requires_confirmation, or "
                                "requires_action to be confirmed." % st,
                           code="setup_intent_unexpected_state",
                           extra={"setup_intent": copy.deepcopy(si)})
        self.confirm_with(si, p)
        if not si["payment_method"]:
            raise ApiError(400, "You cannot confirm this SetupIntent because it's missing a "
                                "payment method. Update the SetupIntent with a payment method and "
                                "then confirm it again.", code="setup_intent_unexpected_state",
                           extra={"setup_intent": copy.deepcopy(si)})
        pm = self.store["payment_methods"][si["payment_method"]]
        behavior = self.meta[pm["id"]].get("behavior", "ok")
        si["latest_attempt"] = new_id("setatt")
        if behavior == "decline":
            return self.si_fail(si, pm, self.meta[pm["id"]].get("decline") or "generic_decline",
                                ctx)
        if behavior == "3ds":
            return self.require_action(si, "last_setup_error", "setup_intent", p, ctx)
        return self.si_succeed(si, pm, ctx)

    def si_succeed(self, si, pm, ctx):
        si.update({"status": "succeeded", "last_setup_error": None, "next_action": None})
        if si["customer"] and not pm["customer"]:
            self.attach_pm(pm, self.store["customers"][si["customer"]], ctx)
        self.emit("setup_intent.succeeded", si, ctx)
        return None

    def si_fail(self, si, pm, decline, ctx):
        err = self.decline_error(pm, decline)
        si.update({"status": "requires_payment_method", "last_setup_error": err,
                   "payment_method": None, "next_action": None})
        if not pm["customer"]:
            self.meta[pm["id"]]["consumed"] = True
        self.emit("setup_intent.setup_failed", si, ctx)
        self.raise_decline(err, "setup_intent", si)

    def si_complete_action(self, si, result, ctx=None):
        if si["status"] != "requires_action":
            raise ApiError(400, "SetupIntent %s is %s, not requires_action."
                           % (si["id"], si["status"]))
        pm = self.store["payment_methods"][si["payment_method"]]
        if result in ("succeeded", "success", "ok"):
            self.si_succeed(si, pm, ctx)
        else:
            self.si_fail(si, pm, "setup_intent_authentication_failure", ctx)
        return si


# Stripe Search Query Language, the part the emulator understands.
_CLAUSE_RE = re.compile(
    r"""\s*(?P<neg>-)?(?P<field>metadata\[(?:'(?P<mk1>[^']*)'|"(?P<mk2>[^"]*)")\]|[a-z_]+)"""
    r"""(?P<op>:|~|>=|<=|>|<)"""
    r"""(?:'(?P<s1>(?:[^'\\]|\\.)*)'|"(?P<s2>(?:[^"\\]|\\.)*)"|(?P<num>-?\d+)|(?P<null>null))\s*""")
_JOIN_RE = re.compile(r"\s+(AND|OR)\s+")


def parse_search(query, fields, resource):
    clauses, joins, pos = [], set(), 0
    q = query.strip()
    while True:
        m = _CLAUSE_RE.match(q, pos)
        if not m:
            raise ApiError(400, "Invalid query: could not parse `%s` at position %d. See "
                                "https://stripe.com/docs/search#search-query-language."
                           % (query, pos), param="query")
        d = m.groupdict()
        field = "metadata" if d["field"].startswith("metadata[") else d["field"]
        if field not in fields:
            raise ApiError(400, "Field '%s' is an unsupported search field for resource %s. See "
                                "http://stripe.com/docs/search#query-fields-for-%s for a list of "
                                "supported fields." % (d["field"], resource, resource),
                           param="query")
        raw = d["s1"] if d["s1"] is not None else d["s2"]
        value = re.sub(r"\\(.)", r"\1", raw) if raw is not None else \
            (int(d["num"]) if d["num"] is not None else None)
        clauses.append({"neg": bool(d["neg"]), "field": field,
                        "key": d["mk1"] if d["mk1"] is not None else d["mk2"],
                        "op": d["op"], "value": value})
        pos = m.end()
        if pos >= len(q):
            break
        j = _JOIN_RE.match(q, pos - 1 if pos and q[pos - 1] == " " else pos)
        if not j:
            raise ApiError(400, "Invalid query: expected AND or OR at position %d." % pos,
                           param="query")
        joins.add(j.group(1))
        pos = j.end()
    if len(joins) > 1:
        raise ApiError(400, "Invalid query: AND and OR cannot be combined in one query.",
                       param="query")
    if len(clauses) > 10:
        raise ApiError(400, "Invalid query: at most 10 clauses are allowed.", param="query")
    return clauses, (joins.pop() if joins else "AND")


def clause_match(cl, obj):
    if cl["field"] == "metadata":
        have = (obj.get("metadata") or {}).get(cl["key"])
    else:
        have = obj.get(cl["field"])
    want, op = cl["value"], cl["op"]
    if want is None:
        res = have is None
    elif op in (">", "<", ">=", "<="):
        try:
            a, b = float(have), float(want)
            res = {">": a > b, "<": a < b, ">=": a >= b, "<=": a <= b}[op]
        except (TypeError, ValueError):
            res = False
    elif op == "~":
        res = have is not None and str(want).lower() in str(have).lower()
    else:
        res = have is not None and str(have).lower() == str(want).lower()
    return res != cl["neg"]


# --------------------------------------------------------------------------
# Webhook delivery
# --------------------------------------------------------------------------
DELIVERY_MODES = ("normal", "duplicate", "out_of_order", "delay", "bad_signature",
                  "stale_timestamp", "hold")


class Webhooks:
    """Signs and POSTs events from one background thread, in order; retries later."""

    def __init__(self, emu):
        self.emu = emu
        self.url = None
        self.secret = None
        self.max_attempts = 5
        self.retry_delays = [0.2, 0.5, 1.0, 2.0]
        self.timeout = 5.0
        self.generation = 0
        self.job_seq = 0
        self.thread = None
        self.reset_state()

    def reset_state(self):
        self.generation = getattr(self, "generation", 0) + 1
        self.rules = []
        self.held = []          # event ids kept by "hold"
        self.batches = {}       # out_of_order rule id -> event ids
        self.queue = []         # heap of (due monotonic, seq, job)
        self.deliveries = []
        self.busy = getattr(self, "busy", 0)   # a send may be under way across a reset
        self.rule_seq = 0
        self.bodies = {}        # event id -> raw JSON body (fixed at creation)

    def configure(self, url=None, secret=None, max_attempts=None, retry_delays=None,
                  timeout_s=None):
        if url is not None:
            self.url = url or None
        if secret is not None:
            self.secret = secret or None
        if max_attempts is not None:
            self.max_attempts = max(1, int(max_attempts))
        if retry_delays is not None:
            self.retry_delays = [float(x) for x in retry_delays] or [0.2]
        if timeout_s is not None:
            self.timeout = float(timeout_s)

    def config(self):
        return {"url": self.url, "secret": self.secret, "max_attempts": self.max_attempts,
                "retry_delays": self.retry_delays, "timeout_s": self.timeout}

    def start(self):
        self.thread = threading.Thread(target=self.run, name="webhooks", daemon=True)
        self.thread.start()

    # -- called with emu.lock held -------------------------------------------
    def add_rule(self, mode, count=None, types=None, delay_ms=0, age_s=600):
        mode = {"delay_ms": "delay"}.get(mode, mode)
        if mode not in DELIVERY_MODES:
            raise ValueError("mode must be one of " + ", ".join(DELIVERY_MODES))
        if mode == "normal":
            self.rules = []
            return None
        if mode == "out_of_order" and count is None:
            count = 2
        self.rule_seq += 1
        r = {"id": self.rule_seq, "mode": mode, "count": count, "remaining": count,
             "types": types, "delay_ms": int(delay_ms or 0), "age_s": int(age_s or 600)}
        self.rules.append(r)
        return r

    def enqueue(self, ev):
        body = jdump(ev)
        self.bodies[ev["id"]] = body
        if not self.url:
            return
        rule = None
        for r in self.rules:
            if r["remaining"] is not None and r["remaining"] <= 0:
                continue
            if r["types"] and not any(fnmatch.fnmatchcase(ev["type"], t) for t in r["types"]):
                continue
            rule = r
            break
        if rule is None:
            return self.schedule(ev["id"])
        if rule["remaining"] is not None:
            rule["remaining"] -= 1
        mode = rule["mode"]
        if mode == "duplicate":
            self.schedule(ev["id"], mode=mode, copy_no=1)
            self.schedule(ev["id"], mode=mode, copy_no=2)
        elif mode == "delay":
            self.schedule(ev["id"], delay=rule["delay_ms"] / 1000.0, mode=mode)
        elif mode == "bad_signature":
            self.schedule(ev["id"], sig="bad", mode=mode)
        elif mode == "stale_timestamp":
            self.schedule(ev["id"], sig="stale", age=rule["age_s"], mode=mode)
        elif mode == "hold":
            self.held.append(ev["id"])
        elif mode == "out_of_order":
            batch = self.batches.setdefault(rule["id"], [])
            batch.append(ev["id"])
            if len(batch) >= rule["count"] or rule["remaining"] == 0:
                self.flush_batch(rule["id"])
        self.emu.cv.notify_all()

    def flush_batch(self, rid):
        for eid in reversed(self.batches.pop(rid, [])):
            self.schedule(eid, mode="out_of_order")

    def release(self):
        n = len(self.held) + sum(len(b) for b in self.batches.values())
        for eid in self.held:
            self.schedule(eid, mode="hold")
        self.held = []
        for rid in list(self.batches):
            self.flush_batch(rid)
        return n

    def schedule(self, eid, delay=0.0, sig="good", age=600, mode="normal", copy_no=1,
                 attempt=1):
        self.job_seq += 1
        job = {"event_id": eid, "sig": sig, "age": age, "mode": mode, "copy": copy_no,
               "attempt": attempt, "gen": self.generation}
        heapq.heappush(self.queue, (time.monotonic() + delay, self.job_seq, job))
        self.emu.cv.notify_all()

    def deliver_now(self, eid, sig="good"):
        if eid in self.held:
            self.held.remove(eid)
        self.schedule(eid, sig=sig, mode="manual")

    def idle(self):
        return not self.queue and not self.busy

    # -- worker ----------------------------------------------------------------
    def run(self):
        while not self.emu.stop_event.is_set():
            try:
                self.step()
            except Exception:  # keep the sender alive whatever happens
                import traceback
                traceback.print_exc()
                time.sleep(0.1)

    def step(self):
        cv = self.emu.cv
        with cv:
            if not self.queue or self.queue[0][0] > time.monotonic():
                wait = 0.5 if not self.queue else max(0.0, self.queue[0][0] - time.monotonic())
                cv.wait(min(wait, 0.5))
                return
            _, _, job = heapq.heappop(self.queue)
            if job["gen"] != self.generation or not self.url:
                return
            url, secret, timeout = self.url, self.secret or "", self.timeout
            body = self.bodies.get(job["event_id"])
            if body is None:
                return
            ts = self.emu.now()
            if job["sig"] == "stale":
                ts -= job["age"]
            key = secret if job["sig"] != "bad" else (secret + "_wrong" if secret else "whsec_wrong")
            sig = hmac.new(key.encode(), b"%d." % ts + body, hashlib.sha256).hexdigest()
            header = "t=%d,v1=%s" % (ts, sig)
            self.busy += 1
        status, err, resp = None, None, ""
        try:
            status, resp = self.post(url, body, header, timeout)
        except Exception as e:  # connection refused, timeout, ...
            err = "%s: %s" % (type(e).__name__, e)
        with cv:
            self.busy -= 1
            if job["gen"] != self.generation:
                cv.notify_all()
                return
            ok = status is not None and 200 <= status < 300
            gave_up = not ok and job["attempt"] >= self.max_attempts
            ev = self.emu.store["events"].get(job["event_id"])
            self.deliveries.append({
                "seq": len(self.deliveries) + 1, "event_id": job["event_id"],
                "type": ev["type"] if ev else None, "attempt": job["attempt"],
                "copy": job["copy"], "mode": job["mode"], "url": url, "status": status,
                "ok": ok, "error": err, "response_body": resp[:500],
                "signature": header, "timestamp": ts, "gave_up": gave_up,
                "time": self.emu.now()})
            if ok and ev and ev["pending_webhooks"] > 0:
                ev["pending_webhooks"] = 0
            if not ok and not gave_up:
                i = min(job["attempt"] - 1, len(self.retry_delays) - 1)
                self.schedule(job["event_id"], delay=self.retry_delays[i], sig=job["sig"],
                              age=job["age"], mode=job["mode"], copy_no=job["copy"],
                              attempt=job["attempt"] + 1)
            cv.notify_all()

    @staticmethod
    def post(url, body, sig_header, timeout):
        u = urllib.parse.urlsplit(url)
        if u.scheme == "https":
            conn = http.client.HTTPSConnection(u.hostname, u.port or 443, timeout=timeout,
                                               context=ssl._create_unverified_context())
        else:
            conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=timeout)
        try:
            conn.request("POST", (u.path or "/") + ("?" + u.query if u.query else ""), body, {
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                "Stripe-Signature": sig_header, "Accept": "*/*; q=0.5, application/xml",
                "Cache-Control": "no-cache", "Connection": "close"})
            r = conn.getresponse()
            return r.status, r.read(4096).decode("utf-8", "replace")
        finally:
            conn.close()


# --------------------------------------------------------------------------
# Routing, faults, idempotency, request log
# --------------------------------------------------------------------------
ROUTES = [
    ("GET", "/v1/customers", "h_customers_list"),
    ("POST", "/v1/customers", "h_customers_create"),
    ("GET", "/v1/customers/search", "h_customers_search"),
    ("GET", "/v1/customers/{customer}", "h_customers_retrieve"),
    ("POST", "/v1/customers/{customer}", "h_customers_update"),
    ("DELETE", "/v1/customers/{customer}", "h_customers_delete"),
    ("GET", "/v1/customers/{customer}/payment_methods", "h_customer_pms"),
    ("GET", "/v1/payment_methods", "h_pm_list"),
    ("GET", "/v1/payment_methods/{payment_method}", "h_pm_retrieve"),
    ("POST", "/v1/payment_methods/{payment_method}/attach", "h_pm_attach"),
    ("POST", "/v1/payment_methods/{payment_method}/detach", "h_pm_detach"),
    ("POST", "/v1/payment_intents", "h_pi_create"),
    ("GET", "/v1/payment_intents/{intent}", "h_pi_retrieve"),
    ("POST", "/v1/payment_intents/{intent}", "h_pi_update"),
    ("POST", "/v1/payment_intents/{intent}/confirm", "h_pi_confirm"),
    ("POST", "/v1/payment_intents/{intent}/cancel", "h_pi_cancel"),
    ("POST", "/v1/checkout/sessions", "h_cs_create"),
    ("GET", "/v1/checkout/sessions/{session}", "h_cs_retrieve"),
    ("POST", "/v1/refunds", "h_refund_create"),
    ("POST", "/v1/billing_portal/sessions", "h_portal_create"),
    ("GET", "/v1/events", "h_event_list"),
    ("GET", "/v1/events/{id}", "h_event_retrieve"),
    ("GET", "/v1/subscriptions/{subscription_exposed_id}", "h_sub_retrieve"),
    ("POST", "/v1/subscriptions/{subscription_exposed_id}", "h_sub_update"),
    ("DELETE", "/v1/subscriptions/{subscription_exposed_id}", "h_sub_cancel"),
    ("POST", "/v1/products", "h_products_create"),
    ("GET", "/v1/products/{id}", "h_products_retrieve"),
    ("POST", "/v1/prices", "h_prices_create"),
    ("GET", "/v1/prices/{price}", "h_prices_retrieve"),
    ("POST", "/v1/prices/{price}", "h_prices_update"),
    ("POST", "/v1/setup_intents", "h_si_create"),
    ("GET", "/v1/setup_intents/{intent}", "h_si_retrieve"),
    ("POST", "/v1/setup_intents/{intent}/confirm", "h_si_confirm"),
]


def _route_re(tmpl):
    return re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(tmpl)) + "$")


COMPILED_ROUTES = sorted(((m, _route_re(t), t, h) for m, t, h in ROUTES),
                         key=lambda r: r[2].count("{"))


class Response:
    def __init__(self, status, body=b"", headers=None, action="send"):
        self.status, self.body, self.headers, self.action = status, body, headers or [], action


def redact_auth(v):
    scheme, _, cred = v.partition(" ")
    key = cred.strip()
    if scheme.lower() == "basic":
        try:
            key = base64.b64decode(key).decode("utf-8", "replace").partition(":")[0]
        except Exception:
            key = ""
    m = re.match(r"^(sk|rk|pk)_(test|live)_", key)
    return "%s %s…" % (scheme, m.group(0) if m else "")


class Api:
    """Everything between the HTTP server and the Emulator state."""

    def __init__(self, emu, log=None):
        self.emu = emu
        self.log = log

    # -- faults ------------------------------------------------------------------
    def take_fault(self, method, path, form=""):
        emu = self.emu
        with emu.lock:
            now = time.monotonic()
            for f in list(emu.faults):
                if f.get("expires") is not None and now >= f["expires"]:
                    emu.faults.remove(f)
                    continue
                if f["method"] not in ("*", method):
                    continue
                if f["match"] == "exact" and path != f["path"]:
                    continue
                if f["match"] == "prefix" and not path.startswith(f["path"]):
                    continue
                if f["match"] == "regex" and not re.search(f["path"], path):
                    continue
                if f.get("body_contains") and f["body_contains"] not in form:
                    continue
                if f["skip"] > 0:
                    f["skip"] -= 1
                    continue
                if f["probability"] < 1 and random.random() >= f["probability"]:
                    continue
                f["hits"] += 1
                if f["remaining"] is not None:
                    f["remaining"] -= 1
                    if f["remaining"] <= 0:
                        emu.faults.remove(f)
                return dict(f)
        return None

    @staticmethod
    def fault_error(f):
        st = int(f.get("status", 500))
        body = f.get("body")
        if body is None:
            if st == 429:
                e = ApiError(429, "Request rate limit exceeded. Learn more about rate limits here "
                                  "https://stripe.com/docs/rate-limits.", type="invalid_request_error",
                             code="rate_limit")
            elif st == 409:
                e = ApiError(409, "This object cannot be accessed right now because another API "
                                  "request or Stripe process is currently accessing it. If you see "
                                  "this error intermittently, retry the request. If you see this "
                                  "error frequently and are making multiple concurrent requests to "
                                  "a single object, make your requests serially or at a lower "
                                  "rate.", code="lock_timeout")
            elif st == 402:
                e = ApiError(402, "Your card was declined.", type="card_error",
                             code="card_declined", extra={"decline_code": "generic_decline"})
            elif st == 401:
                e = ApiError(401, "Invalid API Key provided: sk_test_****")
            elif st >= 500:
                e = ApiError(st, "An unknown error occurred", type="api_error")
            else:
                e = ApiError(st, "Injected error", type="invalid_request_error")
            return st, e
        return st, body

    # -- main entry --------------------------------------------------------------
    def handle(self, method, path, query, raw, headers, request_id):
        """Returns a Response; records the request."""
        emu = self.emu
        idem_key = headers.get("idempotency-key")
        rec = {"seq": 0, "request_id": request_id, "method": method, "path": path,
               "query": query,
               "headers": {k: (redact_auth(v) if k == "authorization" else v)
                           for k, v in headers.items()},
               "form": raw, "params": None, "idempotency_key": idem_key,
               "stripe_version": headers.get("stripe-version"), "status": None,
               "idempotent_replayed": False, "fault": None, "time": emu.now(),
               "wall_time": round(time.time(), 3)}
        with emu.lock:
            rec["seq"] = len(emu.requests) + 1
            emu.requests.append(rec)
        parse_error = None
        try:
            qp = parse_form(query)
            bp = parse_form(raw) if method != "GET" else {}
            params = dict(qp)
            params.update(bp)
            rec["params"] = params
        except ApiError as e:
            parse_error, qp, bp, params = e, {}, {}, None
        resp = self._handle(method, path, qp, bp, params, parse_error, headers, request_id,
                            idem_key, rec)
        rec["status"] = {"drop": "dropped", "hang": "hung"}.get(resp.action, resp.status)
        if self.log:
            self.log("%s %s %s %s" % (method, path, rec["status"], request_id))
        return resp

    def json_response(self, status, obj, request_id, headers, extra_headers=()):
        h = [("Content-Type", "application/json"), ("Request-Id", request_id),
             ("Stripe-Version", headers.get("stripe-version") or emu_version(self.emu)),
             ("Cache-Control", "no-cache, no-store")]
        if headers.get("idempotency-key"):
            h.append(("Idempotency-Key", headers["idempotency-key"]))
        h.extend(extra_headers)
        return Response(status, jdump(obj), h)

    def error_response(self, e, request_id, headers):
        extra = list(e.headers)
        if e.status == 401:
            extra.append(("WWW-Authenticate", 'Basic realm="Stripe"'))
        return self.json_response(e.status, e.body(request_id), request_id, headers, extra)

    def check_auth(self, headers):
        v = headers.get("authorization", "")
        scheme, _, cred = v.partition(" ")
        key = None
        if scheme.lower() == "bearer":
            key = cred.strip()
        elif scheme.lower() == "basic":
            try:
                key = base64.b64decode(cred.strip()).decode("utf-8").partition(":")[0]
            except Exception:
                key = ""
        if not key:
            raise ApiError(401, "You did not provide an API key. You need to provide your API key "
                                "in the Authorization header, using Bearer auth (e.g. "
                                "'Authorization: Bearer YOUR_SECRET_KEY'). See "
                                "https://stripe.com/docs/api#authentication for details, or we can "
                                "help at https://support.stripe.com/.")
        masked = key[:8] + "*" * 4 + key[-4:] if len(key) > 12 else key[:8] + "****"
        if key.startswith("pk_"):
            raise ApiError(401, "This API call cannot be made with a publishable API key. Please "
                                "use a secret API key. You can find a list of your API keys at "
                                "https://dashboard.stripe.com/account/apikeys.")
        if not re.match(r"^(sk|rk)_test_[A-Za-z0-9_]+$", key) or \
                (self.emu.api_key and key != self.emu.api_key):
            raise ApiError(401, "Invalid API Key provided: %s" % masked)

    def _handle(self, method, path, qp, bp, params, parse_error, headers, rid, idem_key, rec):
        emu = self.emu
        form = rec["form"]
        fault = self.take_fault(method, path, form if isinstance(form, str) else "")
        if fault:
            rec["fault"] = fault["kind"]
        fp = json.dumps([method, path, params if params is not None else rec["form"]],
                        sort_keys=True)
        if fault and fault["kind"] == "error":
            st, body = self.fault_error(fault)
            extra = []
            if fault.get("retry_after") is not None:
                extra.append(("Retry-After", str(fault["retry_after"])))
            if fault.get("should_retry") is not None:
                extra.append(("Stripe-Should-Retry", "true" if fault["should_retry"] else "false"))
            if isinstance(body, ApiError):
                body.headers = extra
                resp = self.error_response(body, rid, headers)
            else:
                resp = self.json_response(st, body, rid, headers, extra)
            store = fault.get("store")
            if store is None:
                store = 400 <= st < 500 and st not in (401, 409, 429)
            if store and idem_key and method == "POST":
                with emu.lock:
                    state, entry = self.idem_begin(idem_key, method, path, fp, rid)
                    if state == "new":
                        self.idem_finish(idem_key, entry, resp)
            return resp
        try:
            self.check_auth(headers)
        except ApiError as e:
            return self.error_response(e, rid, headers)
        route = None
        for m, rx, tmpl, h in COMPILED_ROUTES:
            mm = rx.match(path)
            if mm and m == method:
                route = (tmpl, h, {k: urllib.parse.unquote(v) for k, v in mm.groupdict().items()})
                break
        if route is None:
            return self.error_response(ApiError(
                404, "Unrecognized request URL (%s: %s). Please see https://stripe.com/docs or we "
                     "can help at https://support.stripe.com/." % (method, path)), rid, headers)
        tmpl, hname, pp = route
        entry = None
        use_idem = idem_key is not None and method == "POST"
        if use_idem:
            if len(idem_key) > 255:
                return self.error_response(ApiError(
                    400, "Idempotency-Key must be at most 255 characters long."), rid, headers)
            with emu.lock:
                state, entry = self.idem_begin(idem_key, method, path, fp, rid)
            if state == "replay":
                rec["idempotent_replayed"] = True
                h = [(k, v) for k, v in entry["headers"] if k.lower() != "request-id"]
                h += [("Request-Id", rid), ("Original-Request", entry["request_id"]),
                      ("Idempotent-Replayed", "true")]
                resp = Response(entry["status"], entry["body"], h)
                if fault and fault["kind"] == "drop_after_apply":
                    resp.action = "drop"
                return resp
            if state == "error":
                return self.error_response(entry, rid, headers)
        try:
            if fault and fault["kind"] == "latency":
                emu.stop_event.wait(float(fault.get("ms", 0)) / 1000.0)
            if fault and fault["kind"] == "hang":
                emu.stop_event.wait(float(fault.get("seconds", 30)))
                if use_idem:
                    with emu.lock:
                        self.idem_finish(idem_key, entry, None)
                return Response(0, action="hang")
            if parse_error:
                raise parse_error
            op = emu.spec.get("paths", {}).get(tmpl, {}).get(method.lower())
            if op is not None:
                p = emu.validator.validate(op, method, pp, qp, bp)
            else:
                p = params
        except ApiError as e:
            # Parameter validation failures are not stored (Stripe: the endpoint never ran).
            if use_idem:
                with emu.lock:
                    self.idem_finish(idem_key, entry, None)
            return self.error_response(e, rid, headers)
        ctx = Ctx(rid, idem_key if method == "POST" else None)
        with emu.lock:
            try:
                status, obj = getattr(emu, hname)(ctx, p, pp)
                obj = emu.expand(emu.view(obj), p.get("expand"), strict=method == "GET")
                resp = self.json_response(status, obj, rid, headers)
            except ApiError as e:
                resp = self.error_response(e, rid, headers)
            except Exception as e:  # a bug: answer like Stripe's 500, do not store
                import traceback
                traceback.print_exc()
                resp = self.error_response(ApiError(500, "An unknown error occurred (%s)" % e,
                                                    type="api_error"), rid, headers)
            if use_idem:
                self.idem_finish(idem_key, entry, resp if resp.status < 500 else None)
        if fault and fault["kind"] == "drop_after_apply":
            resp.action = "drop"
        return resp

    # -- idempotency (called with emu.lock held) ---------------------------------
    def idem_begin(self, key, method, path, fp, rid):
        emu = self.emu
        e = emu.idem.get(key)
        if e is not None and emu.now() - e["created"] >= IDEMPOTENCY_TTL:
            del emu.idem[key]
            e = None
        if e is None:
            e = {"created": emu.now(), "method": method, "path": path, "fp": fp,
                 "state": "inflight", "request_id": rid, "status": None, "body": None,
                 "headers": None}
            emu.idem[key] = e
            return "new", e
        if e["state"] == "inflight":
            return "error", ApiError(409, "There is currently another in-progress request using "
                                          "this Stripe API key and idempotency key. Please try "
                                          "again later.", type="idempotency_error",
                                     code="idempotency_key_in_use")
        if (e["method"], e["path"]) != (method, path):
            return "error", ApiError(400, "Keys for idempotent requests can only be used for the "
                                          "same endpoint they were first used for ('%s %s' vs "
                                          "'%s %s'). Try using a key other than '%s' if you meant "
                                          "to execute a different request."
                                     % (e["method"], e["path"], method, path, key),
                                     type="idempotency_error")
        if e["fp"] != fp:
            return "error", ApiError(400, "Keys for idempotent requests can only be used with the "
                                          "same parameters they were first used with. Try using a "
                                          "key other than '%s' if you meant to execute a different "
                                          "request." % key, type="idempotency_error")
        return "replay", e

    def idem_finish(self, key, entry, resp):
        emu = self.emu
        if emu.idem.get(key) is not entry:
            return
        if resp is None:
            del emu.idem[key]
            return
        entry.update({"state": "done", "status": resp.status, "body": resp.body,
                      "headers": list(resp.headers)})


def emu_version(emu):
    return emu.api_version


# --------------------------------------------------------------------------
# Control API (/_emulator/...): JSON in and out, no auth
# --------------------------------------------------------------------------
class ControlError(Exception):
    def __init__(self, status, message):
        Exception.__init__(self, message)
        self.status, self.message = status, message


CONTROL = []


def control(method, pattern):
    rx = re.compile("^/_emulator" + pattern + "$")

    def deco(fn):
        CONTROL.append((method, rx, fn))
        return fn
    return deco


def _int_or_none(v, name):
    if v is None:
        return None
    try:
        return int(v)
    except (TypeError, ValueError):
        raise ControlError(400, "%s must be an integer" % name)


class Control:
    def __init__(self, emu, api):
        self.emu, self.api = emu, api

    def handle(self, method, path, query, raw):
        q = {k: v[-1] for k, v in urllib.parse.parse_qs(query).items()}
        body = {}
        if raw.strip():  # always JSON, whatever Content-Type says (curl -d sends form)
            try:
                body = json.loads(raw)
            except ValueError as e:
                return 400, {"error": {"message": "Invalid JSON body: %s" % e}}
            if not isinstance(body, (dict, list)):
                return 400, {"error": {"message": "JSON body must be an object"}}
        for m, rx, fn in CONTROL:
            mm = rx.match(path)
            if mm and m == method:
                try:
                    return fn(self, body, q, **mm.groupdict())
                except ControlError as e:
                    return e.status, {"error": {"message": e.message}}
                except ApiError as e:
                    return e.status, e.body()
                except (TypeError, ValueError, KeyError, AttributeError) as e:
                    return 400, {"error": {"message": "Bad control request: %s: %s"
                                           % (type(e).__name__, e)}}
        return 404, {"error": {"message": "Unknown control call %s %s" % (method, path)}}

    def obj(self, kind, oid):
        with self.emu.lock:
            o = self.emu.store[kind].get(oid)
        if o is None:
            raise ControlError(404, "No such %s: '%s'" % (KIND_NAMES[kind], oid))
        return o

    @control("GET", "/health")
    def health(self, body, q):
        return 200, {"ok": True, "now": self.emu.now(), "base_url": self.emu.base_url,
                     "api_version": self.emu.api_version}

    @control("POST", "/reset")
    def reset(self, body, q):
        with self.emu.lock:
            self.emu.reset()
            wh = {k: body[k] for k in ("url", "secret", "max_attempts", "retry_delays", "timeout_s")
                  if k in body}
            if "webhook_url" in body:
                wh["url"] = body["webhook_url"]
            if "webhook_secret" in body:
                wh["secret"] = body["webhook_secret"]
            self.emu.webhooks.configure(**wh)
            return 200, {"ok": True, "webhooks": self.emu.webhooks.config()}

    @control("POST", "/faults")
    def add_fault(self, body, q):
        specs = body if isinstance(body, list) else [body]
        out = []
        with self.emu.lock:
            for s in specs:
                kind = s.get("kind", "error")
                if kind not in ("error", "hang", "drop_after_apply", "latency"):
                    raise ControlError(400, "kind must be error, hang, drop_after_apply or latency")
                match = s.get("match", "exact")
                if match not in ("exact", "prefix", "regex"):
                    raise ControlError(400, "match must be exact, prefix or regex")
                self.emu.fault_seq += 1
                count = _int_or_none(s.get("count"), "count")
                dur = s.get("duration_s")
                prob = s.get("probability", 1)
                if isinstance(prob, bool) or not isinstance(prob, (int, float)) or \
                        not 0 < prob <= 1:
                    raise ControlError(400, "probability must be a number in (0, 1]")
                f = dict(s)
                f.update({"id": "flt_%d" % self.emu.fault_seq, "kind": kind, "match": match,
                          "method": (s.get("method") or "*").upper(),
                          "path": s.get("path", "/"),
                          "remaining": count if count is not None else (None if dur else 1),
                          "expires": time.monotonic() + float(dur) if dur else None,
                          "skip": _int_or_none(s.get("skip"), "skip") or 0,
                          "probability": prob, "hits": 0})
                self.emu.faults.append(f)
                out.append(f)
        return 200, {"object": "list", "data": out}

    @control("GET", "/faults")
    def list_faults(self, body, q):
        with self.emu.lock:
            return 200, {"object": "list", "data": list(self.emu.faults)}

    @control("DELETE", "/faults")
    def clear_faults(self, body, q):
        with self.emu.lock:
            n = len(self.emu.faults)
            self.emu.faults = []
        return 200, {"ok": True, "cleared": n}

    @control("GET", "/requests")
    def list_requests(self, body, q):
        with self.emu.lock:
            reqs = list(self.emu.requests)
        if q.get("path"):
            reqs = [r for r in reqs if r["path"] == q["path"]]
        if q.get("path_prefix"):
            reqs = [r for r in reqs if r["path"].startswith(q["path_prefix"])]
        if q.get("method"):
            reqs = [r for r in reqs if r["method"] == q["method"].upper()]
        if q.get("idempotency_key"):
            reqs = [r for r in reqs if r["idempotency_key"] == q["idempotency_key"]]
        return 200, {"object": "list", "data": reqs, "count": len(reqs)}

    @control("DELETE", "/requests")
    def clear_requests(self, body, q):
        with self.emu.lock:
            self.emu.requests = []
        return 200, {"ok": True}

    @control("GET", "/clock")
    def get_clock(self, body, q):
        return 200, {"now": self.emu.now(), "offset": self.emu.clock_offset}

    @control("POST", "/clock")
    def set_clock(self, body, q):
        with self.emu.lock:
            if "advance_seconds" in body:
                self.emu.clock_offset += float(body["advance_seconds"])
            if "set" in body:
                self.emu.clock_offset = float(body["set"]) - time.time()
            self.emu.expire_sessions()
            return 200, {"now": self.emu.now(), "offset": self.emu.clock_offset}

    @control("POST", "/config")
    def set_config(self, body, q):
        with self.emu.lock:
            if "search_lag_s" in body:
                self.emu.search_lag = float(body["search_lag_s"])
            return 200, {"search_lag_s": self.emu.search_lag}

    @control("GET", "/objects/(?P<kind>[a-z_]+)")
    def list_objects(self, body, q, kind):
        if kind not in self.emu.store:
            raise ControlError(404, "Unknown kind %s; one of %s" % (kind, ", ".join(KINDS)))
        with self.emu.lock:
            data = []
            for o in self.emu.store[kind].values():
                o = copy.deepcopy(o)
                if self.emu.meta[o["id"]].get("deleted"):
                    o["deleted"] = True
                data.append(o)
        return 200, {"object": "list", "data": data, "count": len(data)}

    @control("GET", "/objects/(?P<kind>[a-z_]+)/(?P<oid>[^/]+)")
    def get_object(self, body, q, kind, oid):
        if kind not in self.emu.store:
            raise ControlError(404, "Unknown kind %s" % kind)
        with self.emu.lock:
            o = copy.deepcopy(self.obj(kind, oid))
            if self.emu.meta[oid].get("deleted"):
                o["deleted"] = True
        return 200, o

    @control("POST", "/webhooks")
    def set_webhooks(self, body, q):
        with self.emu.lock:
            self.emu.webhooks.configure(**{k: body[k] for k in (
                "url", "secret", "max_attempts", "retry_delays", "timeout_s") if k in body})
            return 200, self.emu.webhooks.config()

    @control("GET", "/webhooks")
    def get_webhooks(self, body, q):
        return 200, self.emu.webhooks.config()

    @control("DELETE", "/webhooks")
    def del_webhooks(self, body, q):
        with self.emu.lock:
            self.emu.webhooks.url = None
            return 200, self.emu.webhooks.config()

    @control("POST", "/delivery")
    def set_delivery(self, body, q):
        with self.emu.lock:
            types = body.get("types") or ([body["type"]] if body.get("type") else None)
            try:
                r = self.emu.webhooks.add_rule(body.get("mode", "normal"),
                                               _int_or_none(body.get("count"), "count"), types,
                                               body.get("delay_ms", 0), body.get("age_s", 600))
            except ValueError as e:
                raise ControlError(400, str(e))
            return 200, {"rule": r, "rules": self.emu.webhooks.rules}

    @control("GET", "/delivery")
    def get_delivery(self, body, q):
        w = self.emu.webhooks
        with self.emu.lock:
            return 200, {"rules": w.rules, "held": list(w.held),
                         "out_of_order_batches": {str(k): v for k, v in w.batches.items()},
                         "queued": len(w.queue), "busy": w.busy}

    @control("POST", "/delivery/release")
    def release(self, body, q):
        with self.emu.lock:
            return 200, {"released": self.emu.webhooks.release()}

    @control("POST", "/events/(?P<eid>[^/]+)/deliver")
    def deliver(self, body, q, eid):
        with self.emu.lock:
            self.obj("events", eid)
            if not self.emu.webhooks.url:
                raise ControlError(400, "No webhook URL configured")
            sig = {"bad_signature": "bad", "stale_timestamp": "stale"}.get(body.get("mode"), "good")
            self.emu.webhooks.deliver_now(eid, sig)
        return 200, {"ok": True, "event_id": eid}

    @control("GET", "/deliveries")
    def deliveries(self, body, q):
        emu, w = self.emu, self.emu.webhooks
        want = _int_or_none(q.get("wait_for"), "wait_for")
        deadline = time.monotonic() + float(q.get("timeout", 5))

        def select():
            d = w.deliveries
            if q.get("event_id"):
                d = [x for x in d if x["event_id"] == q["event_id"]]
            if q.get("type"):
                d = [x for x in d if x["type"] and fnmatch.fnmatchcase(x["type"], q["type"])]
            return d
        with emu.cv:
            d = select()
            while want is not None and len(d) < want and time.monotonic() < deadline:
                emu.cv.wait(min(0.05, max(0.0, deadline - time.monotonic())))
                d = select()
            return 200, {"object": "list", "data": list(d), "count": len(d)}

    @control("DELETE", "/deliveries")
    def clear_deliveries(self, body, q):
        with self.emu.lock:
            self.emu.webhooks.deliveries = []
        return 200, {"ok": True}

    @control("POST", "/deliveries/drain")
    def drain(self, body, q):
        emu, w = self.emu, self.emu.webhooks
        deadline = time.monotonic() + float(body.get("timeout_s", 10))
        with emu.cv:
            while not w.idle() and time.monotonic() < deadline:
                emu.cv.wait(min(0.05, max(0.0, deadline - time.monotonic())))
            return 200, {"idle": w.idle(), "queued": len(w.queue), "held": len(w.held)}

    # ---- business shortcuts --------------------------------------------------
    @control("POST", "/checkout/sessions/(?P<sid>[^/]+)/complete")
    def cs_complete(self, body, q, sid):
        with self.emu.lock:
            cs = self.obj("checkout_sessions", sid)
            self.emu.complete_session(cs, body.get("payment_method") or "pm_card_visa",
                                      body.get("email"), body.get("name"))
            return 200, copy.deepcopy(cs)

    @control("POST", "/checkout/sessions/(?P<sid>[^/]+)/expire")
    def cs_expire(self, body, q, sid):
        with self.emu.lock:
            cs = self.obj("checkout_sessions", sid)
            self.emu.expire_session(cs)
            return 200, copy.deepcopy(cs)

    def settle_action(self, kind, oid, complete, body):
        """complete_action of a PaymentIntent or SetupIntent: a 402 is an outcome here."""
        with self.emu.lock:
            obj = self.obj(kind, oid)
            try:
                complete(obj, body.get("result", "succeeded"))
            except ApiError as e:
                if e.status != 402:
                    raise
            return 200, copy.deepcopy(obj)

    @control("POST", "/payment_intents/(?P<pid>[^/]+)/complete_action")
    def pi_complete_action(self, body, q, pid):
        return self.settle_action("payment_intents", pid, self.emu.complete_action, body)

    @control("POST", "/prices")
    def add_price(self, body, q):
        with self.emu.lock:
            rec = body.get("recurring")
            if isinstance(rec, str):
                rec = {"interval": rec}
            p = self.emu.make_price(body.get("id"), int(body.get("unit_amount", 2000)),
                                    body.get("currency", "usd"), rec, body.get("product"),
                                    body.get("product_name") or body.get("name"),
                                    body.get("lookup_key"))
            return 200, copy.deepcopy(p)

    @control("POST", "/subscriptions")
    def add_subscription(self, body, q):
        with self.emu.lock:
            if not body.get("customer"):
                raise ControlError(400, "customer is required")
            cust = self.emu.customer_ref(body["customer"])
            items = body.get("items") or [{"price": body.get("price") or "price_emulator_monthly",
                                           "quantity": body.get("quantity", 1)}]
            prices = []
            for it in items:
                price = self.emu.price_ref(it["price"], "price", True)
                if not price["recurring"]:
                    raise ControlError(400, "price %s is not recurring" % price["id"])
                prices.append((price, int(it.get("quantity", 1))))
            pm = body.get("default_payment_method")
            if pm:
                pmo = self.emu.resolve_pm(pm)
                if not pmo["customer"]:
                    self.emu.attach_pm(pmo, cust, None)
                pm = pmo["id"]
            sub = self.emu.create_subscription(cust, prices, pm, body.get("metadata") or {}, None,
                                               trial_days=body.get("trial_period_days"),
                                               status=body.get("status", "active"))
            return 200, copy.deepcopy(sub)

    @control("POST", "/subscriptions/(?P<sid>[^/]+)/update")
    def sub_update(self, body, q, sid):
        with self.emu.lock:
            sub = self.obj("subscriptions", sid)
            ch = {k: v for k, v in body.items() if k in (
                "status", "cancel_at_period_end", "cancel_at", "metadata",
                "default_payment_method", "pause_collection", "cancellation_details")}
            if "cancel_at_period_end" in ch and "cancel_at" not in ch:
                ch["cancel_at"] = sub["items"]["data"][0]["current_period_end"] \
                    if ch["cancel_at_period_end"] else None
            return 200, copy.deepcopy(self.emu.update_subscription(sub, ch, None))

    @control("POST", "/subscriptions/(?P<sid>[^/]+)/cancel")
    def sub_cancel(self, body, q, sid):
        with self.emu.lock:
            sub = self.obj("subscriptions", sid)
            return 200, copy.deepcopy(self.emu.cancel_subscription(
                sub, None, body.get("reason", "cancellation_requested")))

    @control("POST", "/subscriptions/(?P<sid>[^/]+)/renew")
    def sub_renew(self, body, q, sid):
        with self.emu.lock:
            sub = self.obj("subscriptions", sid)
            return 200, copy.deepcopy(self.emu.renew_subscription(sub, bool(body.get("fail"))))

    @control("POST", "/setup_intents/(?P<sid>[^/]+)/complete_action")
    def si_complete_action(self, body, q, sid):
        return self.settle_action("setup_intents", sid, self.emu.si_complete_action, body)


# --------------------------------------------------------------------------
# Tiny HTML pages (hosted checkout, portal, 3-D Secure) for demos
# --------------------------------------------------------------------------
PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>%s</title>
<style>body{font-family:sans-serif;max-width:36em;margin:3em auto}button{font-size:1.1em}
td{padding:.2em .6em}</style></head><body><p><b>Stripe emulator</b> (test mode)</p>%s</body></html>"""


def html_page(title, content):
    return PAGE % (html.escape(title), content)


def pages(emu, method, path, form):
    """Returns (status, html or None, redirect or None) or None if no page matches."""
    e = html.escape
    m = re.match(r"^/_emulator/checkout/([^/]+)$", path)
    if m:
        with emu.lock:
            emu.expire_sessions()
            cs = emu.store["checkout_sessions"].get(m.group(1))
            if cs is None:
                return 404, html_page("Not found", "<p>No such checkout session.</p>"), None
            if method == "POST":
                try:
                    emu.complete_session(cs, form.get("payment_method", "pm_card_visa"),
                                         form.get("email") or None)
                except ApiError as err:
                    return 402, html_page("Payment failed", "<p>%s</p><p><a href='%s'>Try again"
                                                            "</a></p>" % (e(err.message), e(path))), None
                return 303, None, cs["success_url"].replace("{CHECKOUT_SESSION_ID}", cs["id"])
            if cs["status"] != "open":
                return 200, html_page("Checkout", "<p>This session is %s.</p>" % e(cs["status"])), None
            rows = "".join("<tr><td>%s</td><td>× %d</td><td>%s</td></tr>" % (
                e(str(emu.meta[l["price"]].get("product_name"))), l["quantity"],
                e(fmt_money(emu.store["prices"][l["price"]]["unit_amount"] * l["quantity"],
                            cs["currency"]))) for l in emu.meta[cs["id"]]["lines"])
            opts = "".join("<option value='%s'>%s</option>" % (t, t) for t in CARDS)
            body = ("<h2>Pay %s</h2><table>%s</table><form method='post'>"
                    "<p>Email <input name='email' value='%s'></p><p>Card <select "
                    "name='payment_method'>%s</select></p><button type='submit'>Pay</button>"
                    "</form><p><a href='%s'>Cancel</a></p>" % (
                        e(fmt_money(cs["amount_total"], cs["currency"])), rows,
                        e(cs["customer_email"] or ""), opts, e(cs["cancel_url"] or "#")))
            return 200, html_page("Checkout", body), None
    m = re.match(r"^/_emulator/3ds/([^/]+)$", path)
    if m:
        # One page for both kinds of intent; the id's prefix says which.
        setup = m.group(1).startswith("seti_")
        kind, what = ("setup_intents", "setup_intent") if setup else \
            ("payment_intents", "payment_intent")
        with emu.lock:
            it = emu.store[kind].get(m.group(1))
            if it is None:
                return 404, html_page("Not found", "<p>No such %s.</p>"
                                      % what.replace("_", " ")), None
            if method == "POST":
                complete = emu.si_complete_action if setup else emu.complete_action
                try:
                    complete(it, form.get("result", "succeeded"))
                except ApiError:
                    pass
                ret = emu.meta[it["id"]].get("return_url")
                if ret:
                    sep = "&" if "?" in ret else "?"
                    return 303, None, "%s%s%s=%s&%s_client_secret=%s&redirect_status=%s" % (
                        ret, sep, what, it["id"], what, it["client_secret"],
                        "succeeded" if it["status"] == "succeeded" else "failed")
                return 200, html_page("3-D Secure", "<p>%s is %s.</p>"
                                      % ("SetupIntent" if setup else "PaymentIntent",
                                         e(it["status"]))), None
            label = e(it["id"]) if setup else "%s for %s" % (
                e(it["id"]), e(fmt_money(it["amount"], it["currency"])))
            body = ("<h2>3-D Secure test page</h2><p>%s</p><form method='post'>"
                    "<button name='result' value='succeeded'>Complete authentication</button> "
                    "<button name='result' value='failed'>Fail authentication</button></form>"
                    % label)
            return 200, html_page("3-D Secure", body), None
    m = re.match(r"^/_emulator/billing_portal/([^/]+)$", path)
    if m:
        with emu.lock:
            s = emu.store["billing_portal_sessions"].get(m.group(1))
            if s is None:
                return 404, html_page("Not found", "<p>No such portal session.</p>"), None
            subs = [x for x in emu.store["subscriptions"].values() if x["customer"] == s["customer"]]
            rows = "".join("<li>%s: %s</li>" % (e(x["id"]), e(x["status"])) for x in subs)
            body = "<h2>Billing portal</h2><p>Customer %s</p><ul>%s</ul><p><a href='%s'>Return</a></p>" \
                % (e(s["customer"]), rows or "<li>no subscriptions</li>", e(s["return_url"] or "#"))
            return 200, html_page("Billing portal", body), None
    m = re.match(r"^/_emulator/invoices/([^/]+)(/pdf)?$", path)
    if m and method == "GET":
        with emu.lock:
            inv = emu.store["invoices"].get(m.group(1))
            if inv is None:
                return 404, html_page("Not found", "<p>No such invoice.</p>"), None
            return 200, html_page("Invoice", "<h2>Invoice %s</h2><p>%s, %s</p>" % (
                e(inv["number"]), e(fmt_money(inv["total"], inv["currency"])),
                e(inv["status"]))), None
    return None


# --------------------------------------------------------------------------
# HTTP server
# --------------------------------------------------------------------------
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "stripe-emulator/1.0"
    timeout = 300
    disable_nagle_algorithm = True

    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):
        pass

    def read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def send(self, status, body, headers):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        # headers and body in one write (no Nagle/delayed-ACK stall on keep-alive)
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD":
            self._headers_buffer.append(body)
        self.flush_headers()

    def dispatch(self):
        srv = self.server
        try:
            raw = self.read_body().decode("utf-8", "replace")
        except (ValueError, OSError):
            self.close_connection = True
            return
        u = urllib.parse.urlsplit(self.path)
        path, query = u.path, u.query
        method = self.command
        if path.startswith("/_emulator"):
            ct = (self.headers.get("Content-Type") or "").lower()
            form = FORM in ct
            page = None
            if path.startswith(("/_emulator/checkout/", "/_emulator/3ds/",
                                "/_emulator/billing_portal/", "/_emulator/invoices/")) and \
                    not path.startswith("/_emulator/checkout/sessions/"):
                fd = {k: v[-1] for k, v in urllib.parse.parse_qs(raw).items()} if form else {}
                page = pages(srv.emu, method, path, fd)
            if page is not None:
                status, content, location = page
                if location:
                    self.send(status, b"", [("Location", location)])
                else:
                    self.send(status, content.encode("utf-8"),
                              [("Content-Type", "text/html; charset=utf-8")])
                return
            status, obj = srv.control.handle(method, path, query, raw)
            self.send(status, jdump(obj), [("Content-Type", "application/json")])
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        rid = "req_" + rand(14)
        resp = srv.api.handle(method, path, query, raw, headers, rid)
        if resp.action in ("drop", "hang"):
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self.send(resp.status, resp.body, resp.headers)

    def safe_dispatch(self):
        try:
            self.dispatch()
        except (ConnectionError, socket.timeout, ssl.SSLError):
            self.close_connection = True
        except Exception as e:  # never leave a client without an answer
            import traceback
            traceback.print_exc()
            try:
                self.send(500, jdump(ApiError(500, "An unknown error occurred (%s)" % e,
                                              type="api_error").body()),
                          [("Content-Type", "application/json")])
            except OSError:
                self.close_connection = True

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = safe_dispatch


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, ssl.SSLError, socket.timeout, TimeoutError)):
            return
        http.server.ThreadingHTTPServer.handle_error(self, request, client_address)


class TLSServer(Server):
    ssl_context = None

    def get_request(self):
        sock, addr = self.socket.accept()
        # The handshake runs in the handler thread (first read), not in the accept loop.
        return self.ssl_context.wrap_socket(sock, server_side=True,
                                            do_handshake_on_connect=False), addr


def make_server(host="127.0.0.1", port=0, spec=DEFAULT_SPEC, webhook_url=None,
                webhook_secret=None, tls_cert=None, tls_key=None, log=None, api_key=None,
                public_url=None):
    """Builds (but does not start) a server; server.emu is the state."""
    cls = TLSServer if tls_cert else Server
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    cls.address_family = family
    srv = cls((host, port), Handler)
    if tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(tls_cert, tls_key)
        srv.ssl_context = ctx
    real_port = srv.server_address[1]
    shown = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    if ":" in shown:
        shown = "[%s]" % shown
    base = public_url.rstrip("/") if public_url else "%s://%s:%d" % (
        "https" if tls_cert else "http", shown, real_port)
    emu = Emulator(spec, base, api_key)
    emu.webhooks.configure(url=webhook_url, secret=webhook_secret)
    emu.webhooks.start()
    srv.emu = emu
    srv.api = Api(emu, log)
    srv.control = Control(emu, srv.api)
    srv.port = real_port
    return srv


def stop_server(srv):
    srv.emu.stop_event.set()
    with srv.emu.cv:
        srv.emu.cv.notify_all()
    srv.shutdown()
    srv.server_close()


def main(argv=None):
    ap = argparse.ArgumentParser(description="Stateful Stripe API emulator (stdlib only).")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 picks a free port")
    ap.add_argument("--port-file", help="write the port here (atomically) once listening")
    ap.add_argument("--spec", default=DEFAULT_SPEC)
    ap.add_argument("--webhook-url")
    ap.add_argument("--webhook-secret")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--api-key", help="accept only this secret key (default: any sk_test_/rk_test_)")
    ap.add_argument("--public-url", help="base URL used in checkout/portal URLs")
    ap.add_argument("--log", help="append one line per API request to this file")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)
    if bool(a.tls_cert) != bool(a.tls_key):
        ap.error("--tls-cert and --tls-key go together")
    log_lock = threading.Lock()
    log_file = open(a.log, "a", encoding="utf-8") if a.log else None

    def log(line):
        line = "%s %s" % (time.strftime("%H:%M:%S"), line)
        with log_lock:
            if log_file:
                log_file.write(line + "\n")
                log_file.flush()
            if not a.quiet:
                print(line, file=sys.stderr, flush=True)
    srv = make_server(a.host, a.port, a.spec, a.webhook_url, a.webhook_secret, a.tls_cert,
                      a.tls_key, log, a.api_key, a.public_url)
    if a.port_file:
        tmp = "%s.%d.tmp" % (a.port_file, os.getpid())
        with open(tmp, "w") as f:
            f.write("%d\n" % srv.port)
        os.replace(tmp, a.port_file)
    if not a.quiet:
        print("stripe-emulator listening on %s (pid %d)" % (srv.emu.base_url, os.getpid()),
              file=sys.stderr, flush=True)

    def on_signal(signum, frame):
        threading.Thread(target=stop_server, args=(srv,), daemon=True).start()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        srv.serve_forever(poll_interval=0.2)
    finally:
        srv.emu.stop_event.set()
        if a.port_file:
            try:
                os.unlink(a.port_file)
            except OSError:
                pass
        if log_file:
            log_file.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
