"""What the Python suites that drive a whole stack share (tests/cluster/cluster_test.py,
tests/chaos/chaos_test.py): HTTP without exceptions for a status, polling under a guard,
signups, signed webhook bodies, a load with a ledger, the mariadb client, and the runner
that prints "ok NAME" / "FAILED NAME: why" and "N passed, M failed". Python's standard
library only.
"""
import hashlib
import hmac
import json
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid

GUARD_S = 60          # every wait for a condition ends here, loudly
PASSWORD = "correct horse battery staple"


class Failed(Exception):
    pass


def check(cond, why):
    if not cond:
        raise Failed(why)


def http(method, url, body=None, headers=None, timeout=30):
    """(status, parsed JSON or None, seconds taken); never raises for an HTTP status. A
    connection that failed is status 0."""
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None and "Content-Type" not in req.headers:
        req.add_header("Content-Type", "application/json")
    t0 = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw, status = r.read(), r.status
    except urllib.error.HTTPError as e:
        raw, status = e.read(), e.code
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as e:
        return 0, {"error": str(e)}, time.monotonic() - t0
    try:
        obj = json.loads(raw) if raw else None
    except ValueError:
        obj = None
    return status, obj, time.monotonic() - t0


def control(emu, method, path, body=None):
    """A call to the Stripe emulator's control API (/_emulator/...); fails unless 2xx."""
    status, obj, _ = http(method, emu + "/_emulator" + path, body)
    check(200 <= status < 300, "emulator %s %s: %s %s" % (method, path, status, obj))
    return obj


def wait_for(what, cond, guard=GUARD_S):
    """Polls cond until it returns something true, and returns that; fails after guard."""
    deadline = time.monotonic() + guard
    while True:
        got = cond()
        if got:
            return got
        if time.monotonic() > deadline:
            raise Failed("%s: not within the %d s guard" % (what, guard))
        time.sleep(0.2)


def signup_at(base, tag, name="Suite"):
    """(status, email, parsed body, seconds) of one JSON signup at a fresh address."""
    email = "%s-%s@example.com" % (tag, uuid.uuid4().hex[:12])
    status, obj, took = http("POST", base + "/v1/users",
                             {"name": "%s %s" % (name, tag), "email": email,
                              "password": PASSWORD},
                             {"Accept": "application/json"})
    return status, email, obj, took


def signature(secret, body, t=None):
    """A Stripe-Signature header value for body, signed now (or at t)."""
    t = int(time.time()) if t is None else t
    sig = hmac.new(secret.encode(), b"%d." % t + body, hashlib.sha256).hexdigest()
    return "t=%d,v1=%s" % (t, sig)


def event_body(evt_id, typ, obj, created=None, previous=None):
    """The bytes of a Stripe event wrapping obj, as Stripe would send it."""
    data = {"object": obj}
    if previous is not None:
        data["previous_attributes"] = previous
    return json.dumps({
        "id": evt_id, "object": "event", "api_version": "2025-03-31.basil",
        "created": int(time.time()) if created is None else created, "livemode": False,
        "pending_webhooks": 1, "request": {"id": None, "idempotency_key": None},
        "type": typ, "data": data}).encode()


def mariadb_rows(socket, database, query, prelude=""):
    """Rows of a query through the mariadb client on a unix socket (tab-separated
    fields)."""
    out = subprocess.run(
        ["mariadb", "--no-defaults", "--protocol=socket", "--socket=" + socket, "--batch",
         "--skip-column-names", database, "-e", prelude + query],
        check=True, capture_output=True, text=True, timeout=30).stdout
    return [line.split("\t") for line in out.splitlines()]


def quoted_list(values):
    """A SQL IN list of values the suites made themselves (addresses, Stripe ids)."""
    for v in values:
        check("'" not in v and "\\" not in v, "cannot quote %r" % v)
    return ",".join("'%s'" % v for v in values)


class Load:
    """One request in a loop from a few threads, until stopped; a ledger of every
    accepted answer and every failure with its time, for what must not be lost and how
    long recovery took (a failure: its time, status, seconds and key). make(tag) returns
    (status, key, body, seconds); accept(status) says whether an answer counts as
    accepted."""

    def __init__(self, tag, make, threads=4, accept=lambda s: s == 201):
        self.tag, self.make, self.accept = tag, make, accept
        self.stop, self.lock = threading.Event(), threading.Lock()
        self.accepted, self.failures, self.attempted, self.slowest = [], [], [], 0.0
        self.threads = [threading.Thread(target=self.run, args=(i,)) for i in range(threads)]

    def run(self, i):
        n = 0
        while not self.stop.is_set():
            status, key, _, took = self.make("%s%d-%d" % (self.tag, i, n))
            n += 1
            with self.lock:
                self.slowest = max(self.slowest, took)
                self.attempted.append(key)
                if self.accept(status):
                    self.accepted.append((time.monotonic(), key))
                else:
                    self.failures.append((time.monotonic(), status, took, key))

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join()

    def successes_after(self, t):
        with self.lock:
            return sum(1 for when, _ in self.accepted if when > t)

    def failures_after(self, t):
        with self.lock:
            return [f for f in self.failures if f[0] > t]


def run_tests(tests, only=()):
    """Runs each test (a function raising Failed), prints one line a test and the
    summary; returns the exit status."""
    passed = failed = 0
    for t in tests:
        if only and t.__name__ not in only:
            continue
        t0 = time.monotonic()
        try:
            t()
        except Failed as e:
            failed += 1
            print("FAILED %s: %s" % (t.__name__, e), flush=True)
            continue
        except Exception as e:  # noqa: BLE001 -- a crash is a failure, with its reason
            failed += 1
            print("FAILED %s: %s: %s" % (t.__name__, type(e).__name__, e), flush=True)
            continue
        passed += 1
        print("ok %s (%.1f s)" % (t.__name__, time.monotonic() - t0), flush=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0
