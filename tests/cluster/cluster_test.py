#!/usr/bin/python3
"""What must hold when paybridge runs as two hosts on a three-node Galera cluster
(script/cluster), checked through nginx against the Stripe emulator. Run by
tests/cluster/run.sh, which starts the cluster and sets:

  PB_CLUSTER_URL      nginx, both hosts behind it
  PB_CLUSTER_DIR      the cluster's directory (nodeK/mysqld.sock, a/ and b/)
  PB_EMULATOR_URL     the emulator
  PB_WEBHOOK_SECRET   the webhook signing secret both hosts hold
  PB_CLUSTER_SIGNUPS  signups in the Stripe-failing test (CI: 200; --full: 1000)

Python's standard library only; the database is read with the mariadb client through
node sockets. Prints one line a check, "ok NAME" or "FAILED NAME: why", then
"N passed, M failed".
"""
import concurrent.futures
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from pbsuite import (GUARD_S, Failed, Load, check, control, event_body, http,  # noqa: E402
                     mariadb_rows, run_tests, signature, signup_at, wait_for)

URL = os.environ["PB_CLUSTER_URL"]
DIR = os.environ["PB_CLUSTER_DIR"]
TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EMU = os.environ["PB_EMULATOR_URL"]
SECRET = os.environ["PB_WEBHOOK_SECRET"]
SIGNUPS = int(os.environ.get("PB_CLUSTER_SIGNUPS", "200"))


def emulator(method, path, body=None):
    return control(EMU, method, path, body)


def sql(query, node=3):
    """Rows of a query on one Galera node (tab-separated fields), read after the node has
    applied every write certified before it (wsrep_sync_wait)."""
    return mariadb_rows("%s/node%d/mysqld.sock" % (DIR, node), "paybridge", query,
                        "SET SESSION wsrep_sync_wait = 1; ")


def signup(tag):
    return signup_at(URL, tag, "Cluster")


def host_log_has(host, text):
    with open("%s/%s/paybridge.log" % (DIR, host), encoding="utf-8", errors="replace") as f:
        return any(text in line for line in f)


def galera(action, node):
    subprocess.run([os.path.join(os.path.dirname(__file__), "../../script/lib/galera.sh"),
                    action, DIR, str(node)], check=True, capture_output=True, timeout=120)


# ---- the checks ----------------------------------------------------------------------

def test_same_event_to_both_hosts():
    """One Stripe event delivered 50 times at once through nginx, so to both hosts: one
    event row, applied by exactly one delivery, 49 answered as duplicates."""
    status, email, obj, _ = signup("event")
    check(status == 201, "signup: %s %s" % (status, obj))
    user_id = obj["data"]["user"]["id"]
    customer = wait_for("the signup's customer", lambda: sql(
        "SELECT stripe_customer_id FROM users WHERE id = %d AND stripe_customer_id IS NOT NULL"
        % int(user_id)))[0][0]
    evt_id = "evt_cluster_" + uuid.uuid4().hex[:16]
    cus = emulator("GET", "/objects/customers/" + customer)
    cus["name"] = "Renamed In Stripe"
    body = event_body(evt_id, "customer.updated", cus, previous={"name": "Cluster event"})

    def deliver(_):
        return http("POST", URL + "/v1/webhooks/stripe", body,
                    {"Stripe-Signature": signature(SECRET, body),
                     "Content-Type": "application/json"})

    with concurrent.futures.ThreadPoolExecutor(50) as pool:
        answers = list(pool.map(deliver, range(50)))
    statuses = [a[0] for a in answers]
    check(statuses.count(200) == 50, "statuses: %s" % statuses)
    duplicates = sum(1 for a in answers if (a[1] or {}).get("data", {}).get("duplicate"))
    rows = sql("SELECT COUNT(*) FROM stripe_events WHERE stripe_event_id = '%s'" % evt_id)
    check(rows[0][0] == "1", "event rows: %s" % rows)
    name = sql("SELECT name FROM users WHERE id = %d" % int(user_id))[0][0]
    check(name == "Renamed In Stripe", "the effect: name is %r" % name)
    outcomes = {}
    for host in ("a", "b"):
        check(host_log_has(host, evt_id), "host %s never received the event" % host)
        for o in event_outcomes(host, evt_id):
            outcomes[o] = outcomes.get(o, 0) + 1
    print("  one event 50 times: outcomes %s, %d answered duplicate" % (outcomes, duplicates))
    # One effect: one delivery applied it; none failed. (Now and then a delivery that
    # raced the first one reports "ignored" rather than "duplicate"; see issue 10's note.)
    check(outcomes.get("applied") == 1 and "failed" not in outcomes and
          sum(outcomes.values()) == 50, "outcomes %s" % outcomes)


def event_outcomes(host, evt_id):
    with open("%s/%s/paybridge.log" % (DIR, host), encoding="utf-8", errors="replace") as f:
        for line in f:
            if evt_id in line and '"msg":"stripe event' in line:
                rec = json.loads(line)
                yield rec.get("outcome", "failed")


def test_signups_with_stripe_failing():
    """Signups over both hosts while 30% of customer creations fail: every user ends with
    exactly one Stripe customer, and both hosts' jobs workers did outbox work."""
    emulator("POST", "/faults", {"method": "POST", "path": "/v1/customers", "status": 500,
                                 "count": None, "duration_s": 600, "probability": 0.3})
    try:
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            results = list(pool.map(lambda i: signup("flaky%d" % i), range(SIGNUPS)))
    finally:
        emulator("DELETE", "/faults")
    bad = [(r[0], r[2]) for r in results if r[0] != 201]
    check(not bad, "%d signups failed, e.g. %s" % (len(bad), bad[:3]))
    emails = [r[1] for r in results]
    in_list = ",".join("'%s'" % e for e in emails)
    wait_for("every user's customer", lambda: sql(
        "SELECT COUNT(*) FROM users WHERE email IN (%s) AND stripe_customer_id IS NULL"
        % in_list)[0][0] == "0", guard=120)
    ids = {row[0] for row in sql("SELECT id FROM users WHERE email IN (%s)" % in_list)}
    check(len(ids) == SIGNUPS, "%d users for %d signups" % (len(ids), SIGNUPS))
    per_user = {}
    for c in emulator("GET", "/objects/customers")["data"]:
        uid = (c.get("metadata") or {}).get("user_id")
        if uid in ids and not c.get("deleted"):
            per_user[uid] = per_user.get(uid, 0) + 1
    twice = {u: n for u, n in per_user.items() if n != 1}
    check(len(per_user) == SIGNUPS and not twice,
          "%d users with a customer, %d with more than one" % (len(per_user), len(twice)))
    # The outbox's own record of who did a job ends with the job (leased_by is cleared);
    # the jobs workers' log lines say it.
    by_host = {h: jobs_created(h) for h in ("a", "b")}
    print("  signups: %d; customers created by the outbox, per host: %s" % (SIGNUPS, by_host))
    check(all(by_host.values()), "not both hosts' jobs workers created customers: %s"
          % by_host)


def jobs_created(host):
    """How many customers a host's jobs worker created, from its log."""
    n = 0
    with open("%s/%s/paybridge.log" % (DIR, host), encoding="utf-8", errors="replace") as f:
        for line in f:
            if '"role":"jobs"' in line and '"msg":"Stripe customer created"' in line:
                n += 1
    return n


def assert_ledger_kept(load):
    emails = [e for _, e in load.accepted]
    check(emails, "no signup was accepted at all")
    found = set()
    for i in range(0, len(emails), 200):
        chunk = ",".join("'%s'" % e for e in emails[i:i + 200])
        found |= {r[0] for r in sql("SELECT email FROM users WHERE email IN (%s)" % chunk)}
    lost = [e for e in emails if e not in found]
    check(not lost, "%d accepted signups lost, e.g. %s" % (len(lost), lost[:3]))


def test_node_killed_under_load():
    """kill -9 of the Galera node host a uses first: requests fail fast, succeed again
    within 10 s, the node rejoins and the cluster is back to three; nothing accepted is
    lost."""
    with Load("kill", signup) as load:
        wait_for("load under way", lambda: load.successes_after(0) >= 20)
        killed_at = time.monotonic()
        galera("kill", 1)
        wait_for("successes after the kill", lambda: load.successes_after(killed_at) >= 20)
        with load.lock:
            failures = [f for f in load.failures if f[0] > killed_at]
            recovered = max([f[0] for f in failures], default=killed_at) - killed_at
            slowest_failure = max([f[2] for f in failures], default=0.0)
        print("  node kill: %d failed requests, last failure %.1f s after the kill, "
              "slowest failure %.1f s" % (len(failures), recovered, slowest_failure))
        check(recovered <= 10, "failures went on %.1f s after the kill" % recovered)
        check(slowest_failure <= 10, "a failure took %.1f s" % slowest_failure)
        galera("start", 1)
    size = sql("SHOW STATUS LIKE 'wsrep_cluster_size'", node=1)[0][1]
    check(size == "3", "cluster size %s after the rejoin" % size)
    assert_ledger_kept(load)


def stop_host_under_load(tag, host="b"):
    """Stops a host (SIGTERM) while signups run; returns the load and the failures that
    came after the stop."""
    pid = int(open("%s/%s/paybridge.pid" % (DIR, host)).read())
    with Load(tag, signup) as load:
        wait_for("load under way", lambda: load.successes_after(0) >= 20)
        stopped_at = time.monotonic()
        os.kill(pid, 15)
        wait_for("host %s gone" % host, lambda: not os.path.exists("/proc/%d/stat" % pid) or
                 open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()[0] == "Z")
        wait_for("successes after the stop", lambda: load.successes_after(stopped_at) >= 40)
    with load.lock:
        failures = [f for f in load.failures if f[0] > stopped_at]
    print("  %s: %d accepted, %d failed after the stop (statuses %s)"
          % (tag, len(load.accepted), len(failures), sorted({f[1] for f in failures})))
    assert_ledger_kept(load)
    return load, failures


def script_cluster(*args):
    subprocess.run([os.path.join(TOP, "script", "cluster")] + list(args), check=True,
                   capture_output=True, text=True, timeout=120)


def test_host_taken_out_then_stopped():
    """The way to stop a host with no request refused: take it out of nginx's upstream
    first (script/cluster out: nginx closes its own idle connections to it), then stop it
    under load: nginx refuses nothing. Then it is started and put back."""
    script_cluster("out", "b")
    _, failures = stop_host_under_load("out-stop")
    check_refused(failures, 0)
    script_cluster("up")
    script_cluster("in", "b")
    wait_for("host b serving again", lambda: host_serving("b"))


def host_serving(host):
    """True once host's own nginx answers readyz with 200."""
    try:
        with urllib.request.urlopen(host_url(host) + "/v1/readyz", timeout=5) as r:
            return r.status == 200
    except (urllib.error.URLError, OSError):
        return False


def test_host_stopped_under_load():
    """paybridge host b stopped (SIGTERM) under load with no warning to nginx: no signup
    that got its 201 is lost, and the stopping host drains (it serves what its socket's
    queue and its kept connections still bring, and its socket file is gone, so nginx
    sends everything new to host a). nginx can still write a request into a kept
    connection in the instant the host closes it: such a request is refused (502) having
    done nothing, so the client may retry it; at most a few are."""
    _, failures = stop_host_under_load("stop")
    check_refused(failures, 3)


def check_refused(failures, most_502):
    """Every signup that failed after a host's stop did nothing (no user row: its client
    may retry), was a 502 (nginx: the stopping host closed the connection) or a 503 (host
    a, carrying all the load on its own four workers, shed it), with at most most_502 of
    the first kind."""
    done = [f[3] for f in failures if sql("SELECT COUNT(*) FROM users WHERE email = '%s'"
                                         % f[3])[0][0] != "0"]
    check(not done, "refused signups that were carried out: %s" % done)
    refused = [f for f in failures if f[1] == 502]
    check(len(refused) <= most_502, "%d requests refused by nginx after the stop: %s"
          % (len(refused), refused))
    check(all(f[1] in (502, 503) for f in failures), "unexpected statuses: %s" % failures)


def test_sync_lease_one_host_at_a_time():
    """The events sync, which must run once per cluster, started on both hosts at once
    (each through its own first Galera node), five times: each time one runs and the
    other is told the lease is held."""
    ctl = os.path.join(os.environ["PB_CLUSTER_BUILD"], "paybridgectl")
    env = dict(os.environ, PAYBRIDGE_DB_PASSWORD=open(DIR + "/password").read().strip(),
               PAYBRIDGE_STRIPE_SECRET_KEY="sk_test_paybridge_cluster_emulator")
    # Each page of events takes half a second: the two runs overlap for sure.
    emulator("POST", "/faults", {"method": "GET", "path": "/v1/events", "kind": "latency",
                                 "ms": 500, "count": None, "duration_s": 120})
    try:
        for round_ in range(5):
            runs = [subprocess.Popen([ctl, "-c", "%s/%s/paybridge.conf" % (DIR, h), "events",
                                      "sync"], env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True) for h in ("a", "b")]
            outs = [r.communicate(timeout=60) + (r.returncode,) for r in runs]
            ran = [h for h, o in zip("ab", outs) if o[2] == 0 and "fetched" in o[0]]
            busy = [h for h, o in zip("ab", outs) if o[2] != 0 and
                    "another sync is running" in o[1] and
                    # The refusal names the holder by the other host's host_id.
                    re.search(r"[(@]%s:\d+ holds the lease" % ("b" if h == "a" else "a"),
                              o[1])]
            check(len(ran) == 1 and len(busy) == 1,
                  "round %d: %s" % (round_, [(o[2], o[0][-80:], o[1][-600:]) for o in outs]))
    finally:
        emulator("DELETE", "/faults")


def ctl(*args):
    env = dict(os.environ, PAYBRIDGE_DB_PASSWORD=open(DIR + "/password").read().strip(),
               PAYBRIDGE_STRIPE_SECRET_KEY="sk_test_paybridge_cluster_emulator")
    return subprocess.run([os.path.join(os.environ["PB_CLUSTER_BUILD"], "paybridgectl"), "-c",
                           DIR + "/a/paybridge.conf"] + list(args), env=env, check=True,
                          capture_output=True, text=True, timeout=60).stdout


def host_url(host):
    """The nginx in front of one host alone (the one it publishes status changes to)."""
    conf = open("%s/%s/paybridge.conf" % (DIR, host)).read()
    port = conf.split("nchan_publish_url = http://127.0.0.1:", 1)[1].split("/", 1)[0]
    return "http://127.0.0.1:" + port


class Subscriber(threading.Thread):
    """An SSE subscriber: every data line it receives, with its arrival time."""

    def __init__(self, url):
        super().__init__(daemon=True)
        self.url, self.messages, self.status = url, [], None
        self.lock = threading.Lock()

    def run(self):
        req = urllib.request.Request(self.url, headers={"Accept": "text/event-stream"})
        try:
            with urllib.request.urlopen(req, timeout=GUARD_S) as r:
                self.status = r.status
                for raw in r:
                    line = raw.decode("utf-8", "replace").rstrip("\r\n")
                    if line.startswith("data:"):
                        with self.lock:
                            self.messages.append((time.monotonic(), json.loads(line[5:])))
        except urllib.error.HTTPError as e:
            self.status = e.code
        except (OSError, ValueError):
            pass

    def statuses(self):
        with self.lock:
            return [(t, m.get("status")) for t, m in self.messages]


def test_sse_across_hosts():
    """A subscriber on host a's nginx receives the status host b applied and published to
    its own nginx: nchan's channels are shared through Redis."""
    if "nchan_publish_url" not in open(DIR + "/a/paybridge.conf").read():
        raise Failed("nginx has no nchan here: the cross-host stream cannot be checked")
    slug = "sse-" + uuid.uuid4().hex[:8]
    ctl("products", "add", "--slug", slug, "--name", "Stream test", "--amount", "1500",
        "--currency", "usd")
    product = next(p for p in json.loads(ctl("products", "list", "--json"))["products"]
                   if p.get("slug") == slug)["id"]
    a, b = host_url("a"), host_url("b")
    status, _, obj, _ = signup_at(a, "sse", "Cluster")
    check(status == 201, "signup: %s %s" % (status, obj))
    auth = {"Authorization": "Bearer " + obj["data"]["access_token"]}
    status, obj, _ = http("POST", a + "/v1/payments/intents",
                          {"productId": int(product), "quantity": 1}, auth)
    check(status == 201, "intent: %s %s" % (status, obj))
    pi = obj["data"]["id"]
    sub = Subscriber("%s/v1/payments/intents/%s/events?access_token=%s"
                     % (a, pi, auth["Authorization"][7:]))
    sub.start()
    first = wait_for("the first message", lambda: sub.statuses())[0][1]
    check(first == "requires_payment_method", "first message: %s" % first)
    t0 = time.monotonic()
    status, obj, _ = http("POST", "%s/v1/payments/intents/%s/confirm" % (b, pi),
                          {"paymentMethodId": "pm_card_visa",
                           "returnUrl": "https://shop.example/back"}, auth)
    check(status == 200 and obj["data"]["status"] == "succeeded",
          "confirm on host b: %s %s" % (status, obj))
    got = wait_for("succeeded on host a's stream", lambda: [
        t for t, st in sub.statuses() if st == "succeeded"], guard=10)
    print("  SSE across hosts: host b's confirm reached host a's subscriber in %.0f ms"
          % (1000 * (got[0] - t0)))
    check(host_log_has("b", "/v1/payments/intents/%s/confirm" % pi) and
          not host_log_has("a", "/v1/payments/intents/%s/confirm" % pi),
          "the confirm did not run on host b alone")


TESTS = [test_same_event_to_both_hosts, test_sse_across_hosts, test_sync_lease_one_host_at_a_time, test_signups_with_stripe_failing,
         test_node_killed_under_load, test_host_taken_out_then_stopped,
         test_host_stopped_under_load]


def main():
    return run_tests(TESTS, os.environ.get("PB_CLUSTER_TESTS", "").split())


if __name__ == "__main__":
    raise SystemExit(main())
