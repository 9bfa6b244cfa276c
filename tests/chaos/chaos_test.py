#!/usr/bin/python3
"""The fault matrix under load (issue 14): each scenario runs a bounded load through nginx
against the Stripe emulator, injects one fault, and then checks what must hold, in the
database (the mariadb client) and in the emulator (its control API):

  every accepted signup has its user and, once Stripe is healthy, exactly one customer
  (the emulator's customers with metadata user_id), the one the user row names;
  every delivered event has exactly one effect (one stripe_events row, applied once);
  no order without a payment that succeeded in Stripe; no succeeded payment without its
  order once the events are in.

Run by tests/chaos/run.sh, which starts a stack (tests/integration/stack.sh) and sets its
environment (PB_RUN, PB_NGINX_PORT, PB_EMULATOR_URL, PAYBRIDGE_DB_SOCKET, ...) and
PB_CHAOS_FORM (short: what script/test runs; full: script/test --chaos); PB_CHAOS_TESTS
names the scenarios to run (all by default), PB_CHAOS_SEED the random seed. Every scenario
prints one line "chaos: scenario=NAME key=value ..." with its figures; docs/RELIABILITY.md
quotes them. Python's standard library only.
"""
import concurrent.futures
import http.client as httpc
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from pbsuite import (Failed, Load, check, control, event_body, http,  # noqa: E402
                     mariadb_rows, quoted_list, run_tests, signature, signup_at, wait_for)

RUN = os.environ["PB_RUN"]
URL = "http://127.0.0.1:%s" % os.environ["PB_NGINX_PORT"]
EMU = os.environ["PB_EMULATOR_URL"]
SECRET = os.environ["PB_WEBHOOK_SECRET"]
CTL = os.environ["PB_TEST_CTL"]
FULL = os.environ.get("PB_CHAOS_FORM", "short") == "full"
STRIPE_KEY = os.environ["PAYBRIDGE_STRIPE_SECRET_KEY"]
DB_SOCKET = os.environ["PAYBRIDGE_DB_SOCKET"]
# How long the outbox may take to give every user a customer once Stripe is back: its
# backoff doubles from 1 s, so after a 60 s outage the next try can be a minute away.
CUSTOMER_GUARD_S = 180

# The sizes of each scenario: (short, full).
SIZES = {
    "db_restarts": (1, 3),
    "db_outage_s": (3, 5),
    "kill_s": (4, 10),
    "stripe_down_s": (10, 60),
    "stripe_phase_s": (6, 20),
    "storm_events": (200, 1000),
    "memory_requests": (10000, 100000),
    "slow_clients": (100, 300),
}


def size(name):
    """A scenario's size; PB_CHAOS_SIZE_<NAME> overrides it (a short run under valgrind)."""
    return int(os.environ.get("PB_CHAOS_SIZE_" + name.upper()) or SIZES[name][1 if FULL else 0])


def figures(scenario, **kv):
    print("chaos: scenario=%s %s" % (scenario, " ".join(
        "%s=%s" % (k, ("%.2f" % v) if isinstance(v, float) else v) for k, v in kv.items())),
        flush=True)


def sql(query):
    return mariadb_rows(DB_SOCKET, os.environ["PAYBRIDGE_DB_NAME"], query)


def emulator(method, path, body=None):
    return control(EMU, method, path, body)


def stack(action):
    subprocess.run([CTL, action], check=True, capture_output=True, timeout=120,
                   env=dict(os.environ, PB_RUN=RUN))


def signup(tag):
    return signup_at(URL, tag, "Chaos")


def metric(name):
    """The value of one metric line (name with its labels); a name paybridge does not
    render fails. nginx lets /metrics through from loopback only, which this is."""
    port = int(os.environ["PB_NGINX_PORT"])
    c = httpc.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        c.request("GET", "/metrics")
        r = c.getresponse()
        text = r.read().decode()
    finally:
        c.close()
    check(r.status == 200, "GET /metrics: %s" % r.status)
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise Failed("no metric %s" % name)


def stripe_api(method, path, form=""):
    """A call to the emulator's Stripe API itself, as Stripe's dashboard would make."""
    status, obj, _ = http(method, EMU + path, form.encode() if form else None,
                          {"Authorization": "Bearer " + STRIPE_KEY,
                           "Content-Type": "application/x-www-form-urlencoded"})
    check(200 <= status < 300, "Stripe %s %s: %s %s" % (method, path, status, obj))
    return obj


def log_lines(match):
    with open(RUN + "/paybridge.log", encoding="utf-8", errors="replace") as f:
        return [line for line in f if match in line]


# ---- the invariants ------------------------------------------------------------------

def users_of(emails):
    """{email: user id} of the users that exist for these addresses."""
    found = {}
    emails = list(emails)
    for i in range(0, len(emails), 200):
        for email, uid in sql("SELECT email, id FROM users WHERE email IN (%s)"
                              % quoted_list(emails[i:i + 200])):
            found[email] = uid
    return found


def assert_signups_kept(accepted, attempted):
    """Every accepted signup has its user; every user made (accepted or not: a signup
    whose answer was lost may still have committed) gets exactly one Stripe customer,
    the one its row names. Returns (users, seconds until the last customer)."""
    check(accepted, "no signup was accepted at all")
    users = users_of(attempted)
    lost = [e for e in accepted if e not in users]
    check(not lost, "%d accepted signups have no user, e.g. %s" % (len(lost), lost[:3]))
    ids = set(users.values())
    t0 = time.monotonic()
    wait_for("every user's customer", lambda: all(
        row[0] == "0" for row in sql(
            "SELECT COUNT(*) FROM users WHERE id IN (%s) AND stripe_customer_id IS NULL"
            % ",".join(sorted(ids)))), guard=CUSTOMER_GUARD_S)
    converged = time.monotonic() - t0
    stored = {uid: cus for uid, cus in sql(
        "SELECT id, stripe_customer_id FROM users WHERE id IN (%s)" % ",".join(sorted(ids)))}
    per_user = {}
    for c in emulator("GET", "/objects/customers")["data"]:
        uid = (c.get("metadata") or {}).get("user_id")
        if uid in ids and not c.get("deleted"):
            per_user.setdefault(uid, []).append(c["id"])
    missing = [u for u in ids if u not in per_user]
    twice = {u: c for u, c in per_user.items() if len(c) != 1}
    check(not missing and not twice, "%d users without a customer, %d with more than one "
          "(e.g. %s)" % (len(missing), len(twice), list(twice.items())[:2]))
    wrong = [u for u in ids if stored[u] != per_user[u][0]]
    check(not wrong, "%d users name another customer than Stripe's" % len(wrong))
    return len(ids), converged


def assert_orders_match_payments():
    """No order without a payment that succeeded in Stripe; every payment that succeeded
    in Stripe (of an intent paybridge made) has exactly one order."""
    succeeded = {p["id"] for p in emulator("GET", "/objects/payment_intents")["data"]
                 if p.get("status") == "succeeded"}
    ours = {r[0] for r in sql("SELECT stripe_id FROM payment_intents")}
    orders = [r[0] for r in sql("SELECT stripe_payment_intent_id FROM orders")]
    unpaid = [o for o in orders if o not in succeeded]
    check(not unpaid, "%d orders without a succeeded payment, e.g. %s"
          % (len(unpaid), unpaid[:3]))
    check(len(orders) == len(set(orders)), "a payment has two orders")
    orphans = sorted((succeeded & ours) - set(orders))
    check(not orphans, "%d succeeded payments without their order, e.g. %s"
          % (len(orphans), orphans[:3]))
    return len(orders)


def assert_events_once(event_ids):
    """Each event has one row and was applied by exactly one delivery."""
    event_ids = list(event_ids)
    rows = {}
    for i in range(0, len(event_ids), 200):
        for evt, n in sql("SELECT stripe_event_id, COUNT(*) FROM stripe_events WHERE "
                          "stripe_event_id IN (%s) GROUP BY stripe_event_id"
                          % quoted_list(event_ids[i:i + 200])):
            rows[evt] = int(n)
    missing = [e for e in event_ids if e not in rows]
    check(not missing, "%d delivered events have no row, e.g. %s" % (len(missing),
                                                                      missing[:3]))
    applied = {}
    wanted = set(event_ids)
    for line in log_lines('"msg":"stripe event"'):
        rec = json.loads(line)
        if rec.get("event") in wanted and rec.get("outcome") == "applied":
            applied[rec["event"]] = applied.get(rec["event"], 0) + 1
    twice = {e: n for e, n in applied.items() if n != 1}
    never = [e for e in event_ids if e not in applied]
    check(not twice and not never, "%d events applied more than once, %d never (e.g. %s)"
          % (len(twice), len(never), (list(twice) + never)[:3]))


def worker_pids():
    """{pid: name} of the master's children (pb-worker and pb-jobs)."""
    master = int(open(RUN + "/paybridge.pid").read())
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            stat = open("/proc/%s/stat" % d).read()
        except OSError:
            continue
        name, rest = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:]
        fields = rest.split()
        if int(fields[1]) == master and fields[0] != "Z":
            kids[int(d)] = name
    return kids


def pool_full():
    kids = worker_pids()
    workers = sum(1 for n in kids.values() if n == "pb-worker")
    jobs = sum(1 for n in kids.values() if n == "pb-jobs")
    ready = metric("paybridge_workers_ready")
    wanted = metric("paybridge_workers_wanted")
    return workers == wanted and jobs == 1 and ready == wanted


def settle():
    """Faults off, the emulator's webhooks delivered: the state the invariants read."""
    emulator("DELETE", "/faults")
    emulator("POST", "/delivery", {"mode": "normal"})
    emulator("POST", "/delivery/release")
    emulator("POST", "/deliveries/drain", {"timeout_s": 60})


# ---- the scenarios -------------------------------------------------------------------

def customer_event(tag):
    """A user with a customer, and a signed customer.updated event renaming them."""
    status, email, obj, _ = signup(tag)
    check(status == 201, "signup: %s %s" % (status, obj))
    uid = obj["data"]["user"]["id"]
    cus = wait_for("the customer", lambda: sql(
        "SELECT stripe_customer_id FROM users WHERE id = %d AND stripe_customer_id IS NOT "
        "NULL" % int(uid)))[0][0]
    obj = emulator("GET", "/objects/customers/" + cus)
    obj["name"] = "Renamed " + tag
    evt = "evt_chaos_" + uuid.uuid4().hex[:20]
    return uid, evt, event_body(evt, "customer.updated", obj, previous={"name": "x"})


def deliver(body, secret=SECRET, t=None):
    return http("POST", URL + "/v1/webhooks/stripe", body,
                {"Stripe-Signature": signature(secret, body, t),
                 "Content-Type": "application/json"})


def deliver_as_stripe(body, secret=SECRET):
    """Delivers as Stripe does: an answer other than 2xx is delivered again (here at
    once, 20 times at most; Stripe backs off over days). Returns (last status, attempts).
    paybridge answers non-2xx, without applying anything, when it cannot take the event
    now (a database seat refused under load)."""
    for attempt in range(1, 21):
        status, _, _ = deliver(body, secret)
        if 200 <= status < 300 or status == 400:
            return status, attempt
        time.sleep(0.05 * attempt)  # Stripe's backoff, shortened
    return status, attempt


def test_mariadb_restarted_under_load():
    """MariaDB stopped and started again under signups: requests in the outage fail fast
    with 503, a webhook is answered non-2xx (so Stripe retries) and applied once when
    redelivered, service is back within 10 s, nothing accepted is lost and nothing is
    half-written."""
    accepted, attempted = [], []
    worst_recovery = slowest_failure = outage = worst_first_ok = 0.0
    failed = 0
    statuses, wh_statuses = set(), set()
    events = []
    for k in range(size("db_restarts")):
        uid, evt, body = customer_event("dbwh%d" % k)
        with Load("db%d-" % k, signup) as load:
            wait_for("load under way", lambda: load.successes_after(0) >= 10)
            down_at = time.monotonic()
            stack("mariadb-stop")
            try:
                wh_status, wh_obj, wh_took = deliver(body)
                wait_for("failures in the outage",
                         lambda: len(load.failures_after(down_at)) >= 4)
                time.sleep(size("db_outage_s"))  # the outage itself, not a wait
            finally:
                stack("mariadb-start")  # whatever failed, the scenarios after need it
            up_at = time.monotonic()
            outage = max(outage, up_at - down_at)
            wait_for("successes after the restart", lambda: load.successes_after(up_at) >= 10)
            with load.lock:
                first_ok = min(t for t, _ in load.accepted if t > up_at) - up_at
            worst_first_ok = max(worst_first_ok, first_ok)
            fails = load.failures_after(down_at)
            last_fail = max([f[0] for f in fails], default=up_at)
            recovery = max(0.0, last_fail - up_at)
        # Not 2xx, so Stripe sends it again; 503, as the database's outage is not the
        # event's failure (outcome "deferred", not "failed").
        check(wh_status == 503, "a webhook in the outage was answered %s %s"
              % (wh_status, wh_obj))
        check(wh_took < 10, "the webhook in the outage took %.1f s" % wh_took)
        status, _ = deliver_as_stripe(body)
        check(status == 200, "the webhook redelivered after the outage: %s" % status)
        events.append(evt)
        wh_statuses.add(wh_status)
        statuses |= {f[1] for f in fails}
        failed += len(fails)
        slowest_failure = max([slowest_failure] + [f[2] for f in fails])
        worst_recovery = max(worst_recovery, recovery)
        accepted += [e for _, e in load.accepted]
        attempted += load.attempted
        check(recovery <= 10, "failures went on %.1f s after MariaDB was back" % recovery)
        name = sql("SELECT name FROM users WHERE id = %d" % int(uid))[0][0]
        check(name == "Renamed dbwh%d" % k, "the redelivered event's effect: %r" % name)
    check(statuses <= {503}, "failure statuses in the outage: %s" % sorted(statuses))
    check(slowest_failure < 5, "a failure in the outage took %.1f s" % slowest_failure)
    users, converged = assert_signups_kept(accepted, attempted)
    assert_events_once(events)
    figures("mariadb_restart", restarts=size("db_restarts"), outage_s=outage,
            requests=len(attempted), accepted=len(accepted), failed=failed,
            failure_statuses="/".join(str(s) for s in sorted(statuses)),
            slowest_failure_s=slowest_failure, last_failure_after_up_s=worst_recovery,
            first_success_after_up_s=worst_first_ok, webhook_statuses="/".join(
                str(x) for x in sorted(wh_statuses)), users=users,
            customers_converged_s=converged, lost=0, half_written=0)


def test_workers_killed_under_load():
    """kill -9 of a random child (request worker or jobs worker) every 200 ms under
    signups and reads: the master keeps the pool full, and the invariants hold."""
    def mixed(tag):
        if random.random() < 0.5:
            status, obj, took = http("GET", URL + "/v1/products")
            return (200 if status == 200 else status), None, obj, took
        return signup(tag)
    kills = 0
    with Load("kill", mixed, threads=6, accept=lambda s: s in (200, 201)) as load:
        wait_for("load under way", lambda: load.successes_after(0) >= 10)
        t0 = time.monotonic()
        while time.monotonic() - t0 < size("kill_s"):
            kids = list(worker_pids())
            if kids:
                try:
                    os.kill(random.choice(kids), 9)
                    kills += 1
                except ProcessLookupError:
                    pass
            time.sleep(0.2)  # the pace of the fault, not a wait for a condition
        stopped = time.monotonic()
        refill = wait_for("the pool full again", pool_full, guard=30) and \
            time.monotonic() - stopped
        wait_for("successes after the kills", lambda: load.successes_after(stopped) >= 10)
    fails = [f for f in load.failures]
    statuses = sorted({f[1] for f in fails})
    signups = [e for _, e in load.accepted if e is not None]
    attempted = [e for e in load.attempted if e is not None]
    users, converged = assert_signups_kept(signups, attempted)
    # Nothing but a request that was on a killed worker may fail: a gateway error.
    check(set(statuses) <= {502, 503, 504}, "failure statuses: %s" % statuses)
    # One kill costs the request on that worker, and at most a POST that nginx had just
    # sent on the connection it held to it.
    gateway = sum(1 for f in fails if f[1] == 502)
    check(gateway <= 2 * kills, "%d gateway errors for %d kills" % (gateway, kills))
    figures("workers_killed", kills=kills, seconds=size("kill_s"),
            requests=len(load.attempted), accepted=len(load.accepted), failed=len(fails),
            failure_statuses="/".join(map(str, statuses)) or "none", refill_s=refill,
            users=users, customers_converged_s=converged, lost=0)


def test_stripe_faults_during_signups():
    """Signups while Stripe is down (503 to every call), then while it answers 429 to half
    the calls, then while it loses half its answers after doing the work, then while it
    closes every connection unanswered: every signup is accepted, and once Stripe is
    healthy every user has exactly one customer."""
    phases = [
        ("down", size("stripe_down_s"),
         {"path": "/v1/", "match": "prefix", "status": 503, "count": None}),
        ("429", size("stripe_phase_s"),
         {"path": "/v1/", "match": "prefix", "status": 429, "count": None,
          "probability": 0.5, "retry_after": 1}),
        ("lost_answers", size("stripe_phase_s"),
         {"method": "POST", "path": "/v1/customers", "kind": "drop_after_apply",
          "count": None, "probability": 0.5}),
        # Every connection closed without an answer and nothing done, as a dead load
        # balancer in front of Stripe would.
        ("no_answer", size("stripe_phase_s") // 2,
         {"path": "/v1/", "match": "prefix", "kind": "hang", "seconds": 0, "count": None}),
    ]
    accepted, attempted, by_phase = [], [], {}
    for name, seconds, fault in phases:
        fault = dict(fault, duration_s=seconds + 30)
        emulator("POST", "/faults", fault)
        t0 = time.monotonic()
        with Load("stripe-%s-" % name, signup) as load:
            while time.monotonic() - t0 < seconds:
                time.sleep(0.5)  # the length of the fault, not a wait for a condition
        hits = sum(f.get("hits", 0) for f in emulator("GET", "/faults")["data"])
        emulator("DELETE", "/faults")
        accepted += [e for _, e in load.accepted]
        attempted += load.attempted
        # Stripe's faults never fail a signup; only load shedding may (503 server_busy,
        # before anything is written), when the machine is slower than the load.
        shed = [f for f in load.failures if f[1] == 503]
        by_phase[name] = (len(load.attempted), len(shed), hits)
        check(len(shed) == len(load.failures), "phase %s: %d signups failed, e.g. %s"
              % (name, len(load.failures) - len(shed),
                 [f for f in load.failures if f[1] != 503][:3]))
    users, converged = assert_signups_kept(accepted, attempted)
    for name, (n, bad, hits) in by_phase.items():
        figures("stripe_" + name, seconds=dict((p[0], p[1]) for p in phases)[name],
                signups=n, shed_503=bad, failed=0, faults=hits)
    figures("stripe_faults", signups=len(attempted), users=users,
            customers_converged_s=converged, duplicates=0, without_customer=0, lost=0)


def test_webhook_storm():
    """Payments made through paybridge, Stripe's events for them held back, then each
    event delivered three times in a shuffled storm, 16 at a time, each delivery
    repeated as Stripe would while it is answered non-2xx; a tenth of the events are
    forged (payment_intent.succeeded for an intent never paid, under a wrong secret):
    exactly the genuine events are applied, once each, and only paid intents get
    orders."""
    n = size("storm_events")
    slug = "chaos-" + uuid.uuid4().hex[:8]
    env = dict(os.environ)
    subprocess.run([os.path.join(os.environ["PB_BUILD"], "paybridgectl"), "-c",
                    RUN + "/paybridge.conf", "products", "add", "--slug", slug, "--name",
                    "Storm", "--amount", "1500", "--currency", "usd"], check=True, env=env,
                   capture_output=True, timeout=60)
    product = int(sql("SELECT id FROM products WHERE slug = '%s'" % slug)[0][0])
    status, _, obj, _ = signup("storm")
    check(status == 201, "signup: %s %s" % (status, obj))
    auth = {"Authorization": "Bearer " + obj["data"]["access_token"]}
    # Stripe's own deliveries wait: the storm is the only way the events arrive.
    emulator("POST", "/delivery", {"mode": "hold", "types": ["payment_intent.*", "charge.*"]})

    asked_again = [0]

    def make(i):
        # A client told 503 server_busy (shed under load) tries again with its key, and
        # while told 409 idempotency_key_in_use (a shed request whose key could not be
        # released either: it stays in flight until request_timeout has passed) too.
        key = uuid.uuid4().hex
        deadline = time.monotonic() + 60
        while True:
            status, obj, _ = http("POST", URL + "/v1/payments/intents",
                                  {"productId": product, "quantity": 1},
                                  dict(auth, **{"Idempotency-Key": key}))
            code = ((obj or {}).get("error") or {}).get("code")
            if status not in (503, 409) or time.monotonic() > deadline or \
                    (status == 409 and code != "idempotency_key_in_use"):
                break
            asked_again[0] += 1
            time.sleep(0.5)  # Retry-After (1 s), halved
        check(status == 201, "intent %d: %s %s" % (i, status, obj))
        return obj["data"]["id"]

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        intents = list(pool.map(make, range(n)))
    forged = set(intents[:n // 10])
    paid = intents[n // 10:]

    def pay(pi):
        stripe_api("POST", "/v1/payment_intents/%s/confirm" % pi, "payment_method=pm_card_visa")
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(pay, paid))
    by_pi = {}
    for e in emulator("GET", "/objects/events")["data"]:
        if e["type"] == "payment_intent.succeeded":
            by_pi[e["data"]["object"]["id"]] = e
    check(all(pi in by_pi for pi in paid), "Stripe has no succeeded event for some intents")
    deliveries = []
    for pi in paid:
        body = json.dumps(by_pi[pi]).encode()
        deliveries += [(by_pi[pi]["id"], body, SECRET)] * 3
    for pi in forged:
        obj = emulator("GET", "/objects/payment_intents/" + pi)
        obj["status"] = "succeeded"
        evt = "evt_forged_" + uuid.uuid4().hex[:20]
        deliveries += [(evt, event_body(evt, "payment_intent.succeeded", obj),
                        "whsec_forged_by_someone_else")] * 3
    random.shuffle(deliveries)
    refused_before = metric('paybridge_webhook_signature_failures_total{reason="no_match"}')
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda d: (d[0], d[2]) + deliver_as_stripe(d[1], d[2]),
                                deliveries))
    took = time.monotonic() - t0
    redelivered = sum(a[3] - 1 for a in answers)
    bad = [(a[0], a[2]) for a in answers if a[1] == SECRET and a[2] != 200]
    check(not bad, "%d genuine deliveries not answered 200, e.g. %s" % (len(bad), bad[:3]))
    let_in = [(a[0], a[2]) for a in answers if a[1] != SECRET and a[2] != 400]
    check(not let_in, "%d forged deliveries not refused with 400, e.g. %s"
          % (len(let_in), let_in[:3]))
    refused = metric('paybridge_webhook_signature_failures_total{reason="no_match"}') - \
        refused_before
    check(refused == 3 * len(forged), "signature failures counted: %d for %d forged "
          "deliveries" % (refused, 3 * len(forged)))
    genuine = [by_pi[pi]["id"] for pi in paid]
    assert_events_once(genuine)
    forged_rows = sql("SELECT COUNT(*) FROM stripe_events WHERE stripe_event_id LIKE "
                      "'evt_forged_%'")[0][0]
    check(forged_rows == "0", "%s forged events recorded" % forged_rows)
    orders = assert_orders_match_payments()
    unpaid = sql("SELECT COUNT(*) FROM payment_intents WHERE stripe_id IN (%s) AND status = "
                 "'succeeded'" % quoted_list(forged))[0][0]
    check(unpaid == "0", "%s forged intents marked succeeded" % unpaid)
    # Stripe's held deliveries go out now: all duplicates, nothing changes.
    emulator("POST", "/delivery", {"mode": "normal"})
    emulator("POST", "/delivery/release")
    emulator("POST", "/deliveries/drain", {"timeout_s": 60})
    check(assert_orders_match_payments() == orders, "Stripe's own deliveries changed orders")
    figures("webhook_storm", events=len(intents), intents_asked_again=asked_again[0],
            genuine=len(paid), forged=len(forged),
            deliveries=len(deliveries), redelivered_after_non_2xx=redelivered, seconds=took,
            rps=len(deliveries) / took,
            applied_once=len(paid), refused=int(refused), orders=orders, lost=0,
            duplicates_applied=0)


def test_clock_six_minutes_off():
    """Stripe's clock six minutes ahead: its deliveries are refused (400) with a log line
    naming the reason and the skew, and counted in
    paybridge_webhook_signature_failures_total{reason="expired"}; once the clock is
    right, Stripe's retry is applied, once."""
    uid, _, _ = customer_event("clock")
    cus = sql("SELECT stripe_customer_id FROM users WHERE id = %d" % int(uid))[0][0]
    before = metric('paybridge_webhook_signature_failures_total{reason="expired"}')
    emulator("POST", "/webhooks", {"max_attempts": 8, "retry_delays": [0.5, 1, 2]})
    emulator("POST", "/clock", {"advance_seconds": 360})
    try:
        stripe_api("POST", "/v1/customers/" + cus, "name=Clock+Skewed")
        evt = [e for e in emulator("GET", "/objects/events")["data"]
               if e["type"] == "customer.updated" and e["data"]["object"]["id"] == cus][-1]
        first = emulator("GET", "/deliveries?event_id=%s&wait_for=1&timeout=20"
                         % evt["id"])["data"][0]
        check(first["status"] == 400, "a delivery six minutes ahead: %s" % first)
        lines = wait_for("the refusal's log line", lambda: [
            json.loads(line) for line in log_lines('"msg":"stripe webhook refused"')
            if '"reason":"expired"' in line])
        skew = lines[-1].get("skew_s")
        check(skew is not None and abs(abs(int(skew)) - 360) <= 5,
              "the log line's skew: %s" % lines[-1])
        counted = metric('paybridge_webhook_signature_failures_total{reason="expired"}') - \
            before
        check(counted >= 1, "the expired refusal was not counted")
    finally:
        emulator("POST", "/clock", {"advance_seconds": -360})
    wait_for("the retry applied", lambda: sql(
        "SELECT COUNT(*) FROM stripe_events WHERE stripe_event_id = '%s'" % evt["id"])[0][0]
        == "1", guard=30)
    assert_events_once([evt["id"]])
    name = sql("SELECT name FROM users WHERE id = %d" % int(uid))[0][0]
    check(name == "Clock Skewed", "the effect after the retry: %r" % name)
    emulator("POST", "/webhooks", {"max_attempts": 5, "retry_delays": [0.2, 0.5, 1, 2]})
    figures("clock_skew", skew_s=360, refused=int(counted), log_skew_s=skew,
            applied_after_fix=1, lost=0)


def slow_client(stop, opened):
    """Slowloris: a connection that sends its request line and then a header byte now and
    then, never finishing."""
    try:
        s = socket.create_connection(("127.0.0.1", int(os.environ["PB_NGINX_PORT"])), 10)
        s.sendall(b"POST /v1/users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n")
        opened.append(1)
        while not stop.wait(1.0):
            s.sendall(b"X-a: b\r\n")
        s.close()
    except OSError:
        pass


def disconnecting_client():
    """A request that occupies a worker for 400 ms, abandoned after 100 ms."""
    s = socket.create_connection(("127.0.0.1", int(os.environ["PB_NGINX_PORT"])), 10)
    s.sendall(b"GET /v1/test/sleep?ms=400 HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(0.1)  # mid-request, by design
    s.close()


def test_slow_and_vanishing_clients():
    """Slowloris connections held open while others are served at once; then clients
    that disconnect mid-response: the workers are freed (a burst as large as the pool is
    served in parallel) and the pool is whole."""
    stop, opened = threading.Event(), []
    slow = [threading.Thread(target=slow_client, args=(stop, opened), daemon=True)
            for _ in range(size("slow_clients"))]
    for t in slow:
        t.start()
    try:
        wait_for("slow clients connected", lambda: len(opened) >= len(slow) * 0.9)
        worst = 0.0
        for i in range(20):
            status, _, _, took = signup("slowloris%d" % i)
            check(status == 201, "a signup beside the slow clients: %s" % status)
            worst = max(worst, took)
    finally:
        stop.set()
    check(worst < 5, "a signup beside the slow clients took %.1f s" % worst)
    status, obj, _ = http("GET", URL + "/v1/test/sleep?ms=1")
    check(status == 200, "the slow route (build with --enable-test-routes): %s %s"
          % (status, obj))
    exits_before = metric('paybridge_worker_exits_total{role="worker",cause="crashed"}')
    vanished = 64
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda _: disconnecting_client(), range(vanished)))
    workers = int(metric("paybridge_workers_wanted"))
    wait_for("the pool whole", pool_full, guard=30)
    # Every worker free: a burst of pool-size requests of 300 ms takes about 300 ms, not
    # a multiple of it. Retried under the guard while the abandoned requests drain.

    def burst():
        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            got = list(pool.map(lambda _: http("GET", URL + "/v1/test/sleep?ms=300")[0],
                                range(workers)))
        return all(s == 200 for s in got) and time.monotonic() - t0
    took = wait_for("a burst served in parallel", lambda: (lambda t: t if t and t < 1.5
                                                           else None)(burst()))
    with open(RUN + "/nginx/paybridge.access.log", encoding="utf-8", errors="replace") as f:
        abandoned = sum(1 for line in f if "/v1/test/sleep?ms=400 " in line and '" 499 ' in line)
    # Each client leaves 300 ms before its answer; on a loaded machine a few answers may
    # still beat nginx's noticing, but most must be abandoned for the scenario to count.
    check(abandoned >= vanished // 2, "nginx saw only %d of %d clients go mid-request"
          % (abandoned, vanished))
    crashes = metric('paybridge_worker_exits_total{role="worker",cause="crashed"}') - \
        exits_before
    check(crashes == 0, "%d workers crashed on vanished clients" % crashes)
    figures("slow_clients", slowloris=len(opened), signups_beside=20,
            slowest_signup_s=worst, vanished=vanished, abandoned=abandoned, burst=workers, burst_s=took,
            worker_crashes=int(crashes), lost=0)


def rss_of_workers():
    out = {}
    for pid, name in worker_pids().items():
        if name != "pb-worker":
            continue
        try:
            for line in open("/proc/%d/status" % pid):
                if line.startswith("VmRSS:"):
                    out[pid] = int(line.split()[1])
        except OSError:
            pass
    return out


def argon2_memory_kib():
    """argon2_memory_kib as the stack's paybridge.conf sets it."""
    with open(RUN + "/paybridge.conf", encoding="utf-8") as f:
        for line in f:
            key, _, value = line.partition("=")
            if key.strip() == "argon2_memory_kib":
                return int(value)
    raise Failed("the stack's paybridge.conf sets no argon2_memory_kib")


def test_memory_flat():
    """Mixed requests (reads, signed webhooks, bad input, not found, signups, logins)
    through kept-alive connections: the workers' resident size stays about flat."""
    total = size("memory_requests")
    status, email, obj, _ = signup("mem")
    check(status == 201, "signup: %s" % status)
    token = obj["data"]["access_token"]
    port = int(os.environ["PB_NGINX_PORT"])

    def request(i, c):
        k = i % 100
        if k < 40:
            return c, "GET", "/v1/products", None, {}, 200
        if k < 60:
            return c, "GET", "/v1/users/me", None, {"Authorization": "Bearer " + token}, 200
        if k < 80:
            evt = "evt_mem_%d_%s" % (i, uuid.uuid4().hex[:8])
            body = event_body(evt, "customer.updated", {"id": "cus_unknown%d" % i,
                                                        "object": "customer"})
            return c, "POST", "/v1/webhooks/stripe", body, {
                "Stripe-Signature": signature(SECRET, body),
                "Content-Type": "application/json"}, 200
        if k < 90:
            return c, "POST", "/v1/users", b'{"name": 1', {
                "Content-Type": "application/json"}, 400
        if k < 98:
            return c, "GET", "/v1/nothing/here", None, {}, 404
        if k == 98:
            return c, "POST", "/v1/users", json.dumps({
                "name": "Mem", "email": "mem-%s@example.com" % uuid.uuid4().hex[:12],
                "password": "correct horse battery staple"}).encode(), {
                "Content-Type": "application/json"}, 201
        return c, "POST", "/v1/auth/login", json.dumps({
            "email": email, "password": "correct horse battery staple"}).encode(), {
            "Content-Type": "application/json"}, 200

    counter, lock, wrong, shed = [0], threading.Lock(), [], []

    def loop():
        c = httpc.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            with lock:
                i = counter[0]
                if i >= total:
                    break
                counter[0] += 1
            _, method, path, body, headers, want = request(i, c)
            try:
                c.request(method, path, body, headers)
                r = c.getresponse()
                r.read()
                got = r.status
            except (OSError, httpc.HTTPException) as e:
                got = str(e)
                c.close()
                c = httpc.HTTPConnection("127.0.0.1", port, timeout=30)
            if got != want:
                with lock:
                    # Shed under load (a seat refused: 503, or 500 for a webhook, which
                    # Stripe retries) is no memory matter: counted, bounded below.
                    if got == 503 or (got == 500 and path == "/v1/webhooks/stripe"):
                        shed.append(got)
                    else:
                        wrong.append((method, path, got, want))
        c.close()

    warm = total // 10
    counter[0] = total - warm   # a warm-up tenth first, so first-touch growth is not counted
    threads = [threading.Thread(target=loop) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    before = rss_of_workers()
    counter[0] = 0
    t0 = time.monotonic()
    threads = [threading.Thread(target=loop) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.monotonic() - t0
    after = rss_of_workers()
    check(not wrong, "%d unexpected answers, e.g. %s" % (len(wrong), wrong[:3]))
    check(len(shed) <= total // 20, "%d of %d requests shed" % (len(shed), total))
    same = [p for p in before if p in after]
    check(same, "no worker lived through the run (max_requests?)")
    growth = max(after[p] - before[p] for p in same)
    b_total, a_total = sum(before[p] for p in same), sum(after[p] for p in same)
    # Generous: a leak of a few hundred bytes a request would pass this on the short
    # form and be seen in the figures; one of a few KiB would not. A worker's first
    # password hash keeps Argon2's memory (argon2_memory_kib) resident for good
    # (glibc raises its mmap threshold on the first free of so large a block, so the
    # next one comes from the heap and stays): a cache, not a leak, and a worker the
    # warm-up gave no signup or login meets it in the measured run.
    # Under a wrapper (valgrind) the resident size is mostly the wrapper's own: reported,
    # not held against paybridge; valgrind's logs say whether anything leaked.
    wrapped = bool(os.environ.get("PB_WRAPPER"))
    check(wrapped or growth < 16 * 1024 + argon2_memory_kib(),
          "a worker grew by %d KiB over %d requests" % (growth, total))
    figures("memory", requests=total, warmup=warm, seconds=took, rps=total / took,
            workers=len(same), rss_before_kib=b_total // len(same),
            rss_after_kib=a_total // len(same), max_growth_kib=growth, shed=len(shed),
            errors=len(wrong), wrapped=int(wrapped))


TESTS = [test_webhook_storm, test_clock_six_minutes_off, test_mariadb_restarted_under_load,
         test_workers_killed_under_load, test_stripe_faults_during_signups,
         test_slow_and_vanishing_clients, test_memory_flat]


def main():
    # The kills and the storm's order are random: the seed is printed, and
    # PB_CHAOS_SEED replays a run.
    seed = int(os.environ.get("PB_CHAOS_SEED") or time.time())
    random.seed(seed)
    print("chaos: form=%s seed=%d" % ("full" if FULL else "short", seed), flush=True)
    rc = run_tests(TESTS, os.environ.get("PB_CHAOS_TESTS", "").split())
    try:
        settle()
        assert_orders_match_payments()
    except Failed as e:
        print("FAILED final invariants: %s" % e)
        print("0 passed, 1 failed")
        rc = 1
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
