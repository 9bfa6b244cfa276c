#!/usr/bin/python3
"""A closed-loop load generator for the requests wrk cannot make: each webhook a fresh
Stripe event with its own id and signature, each signup a fresh address.

  bench/load.py webhook|signup URL --connections N --duration S [--secret WHSEC]
                [--processes P]
  bench/load.py file PREFIX --count N --threads T --secret WHSEC --events E --intents I
                [--same]

Keeps N kept-alive connections busy for S seconds (spread over P processes, so the
client is not one interpreter's lock), then prints one JSON line: requests, errors (any
status but the expected one), requests a second, p50 and p99 latency in milliseconds.
`file` writes signed events for bench/webhook.lua instead (wrk makes the load, faster
than this script can). Python's standard library only.
"""
import argparse
import hashlib
import hmac
import http.client
import json
import multiprocessing
import sys
import threading
import time
import urllib.parse
import uuid

PAD = "x" * 2400  # brings an event to about 3 KB, as Stripe's payment events are


def webhook_event(evt, pi, now):
    """A payment_intent.succeeded event of about 3 KB, as Stripe sends them."""
    return json.dumps({
        "id": evt, "object": "event", "api_version": "2025-03-31.basil",
        "created": now, "livemode": False, "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None}, "type": "payment_intent.succeeded",
        "data": {"object": {"id": pi, "object": "payment_intent", "amount": 2000,
                            "currency": "usd", "status": "succeeded", "customer": None,
                            "metadata": {"bench": PAD}, "created": now}}},
                      separators=(",", ":")).encode()


def sign(secret, now, body):
    """The Stripe-Signature header for body, timestamped now."""
    sig = hmac.new(secret.encode(), b"%d." % now + body, hashlib.sha256).hexdigest()
    return "t=%d,v1=%s" % (now, sig)


def webhook_request(secret):
    now = int(time.time())
    body = webhook_event("evt_bench_" + uuid.uuid4().hex,
                         "pi_bench_" + uuid.uuid4().hex[:20], now)
    return ("POST", "/v1/webhooks/stripe", body,
            {"Content-Type": "application/json", "Stripe-Signature": sign(secret, now, body)},
            200)


def write_files(args):
    """bench/webhook.lua's input: PREFIX.0 .. PREFIX.(T-1), each --count / T lines
    "signature<TAB>body", event i referring to payment intent pi_<--intents>i (i from 1,
    so that bench/run can seed those intents from a sequence). --same: every line the
    same event."""
    now = int(time.time())
    per = -(-args.count // args.threads)
    i = 0
    for t in range(args.threads):
        with open("%s.%d" % (args.prefix, t), "wb") as f:
            for _ in range(per):
                i = 1 if args.same else i + 1
                body = webhook_event("evt_%s%d" % (args.events, i),
                                     "pi_%s%d" % (args.intents, i), now)
                f.write(sign(args.secret, now, body).encode() + b"\t" + body + b"\n")


def signup_request(_secret):
    body = json.dumps({"name": "Bench", "email": "b-%s@example.com" % uuid.uuid4().hex,
                       "password": "correct horse battery staple"}).encode()
    return ("POST", "/v1/users", body,
            {"Content-Type": "application/json", "Accept": "application/json"}, 201)


MAKERS = {"webhook": webhook_request, "signup": signup_request}


def worker(args, conns, out):
    u = urllib.parse.urlsplit(args.url)
    make = MAKERS[args.scenario]
    lat, errors, lock = [], [0], threading.Lock()
    deadline = time.monotonic() + args.duration

    def loop():
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        mine, bad = [], 0
        while time.monotonic() < deadline:
            method, path, body, headers, want = make(args.secret)
            t0 = time.monotonic()
            try:
                c.request(method, path, body, headers)
                r = c.getresponse()
                r.read()
                ok = r.status == want
            except (OSError, http.client.HTTPException):
                ok = False
                c.close()
                c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
            mine.append(time.monotonic() - t0)
            bad += not ok
        with lock:
            lat.extend(mine)
            errors[0] += bad

    threads = [threading.Thread(target=loop) for _ in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.put((lat, errors[0]))


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "file":
        p = argparse.ArgumentParser(prog="bench/load.py file")
        p.add_argument("prefix")
        p.add_argument("--count", type=int, required=True)
        p.add_argument("--threads", type=int, default=2)
        p.add_argument("--secret", required=True)
        p.add_argument("--events", required=True, help="event id prefix after evt_")
        p.add_argument("--intents", required=True, help="intent id prefix after pi_")
        p.add_argument("--same", action="store_true")
        write_files(p.parse_args(sys.argv[2:]))
        return
    p = argparse.ArgumentParser()
    p.add_argument("scenario", choices=sorted(MAKERS))
    p.add_argument("url")
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--duration", type=float, default=10)
    p.add_argument("--processes", type=int, default=2)
    p.add_argument("--secret", default="")
    args = p.parse_args()
    procs = max(1, min(args.processes, args.connections))
    q = multiprocessing.Queue()
    shares = [args.connections // procs + (i < args.connections % procs) for i in range(procs)]
    ps = [multiprocessing.Process(target=worker, args=(args, n, q)) for n in shares]
    t0 = time.monotonic()
    for proc in ps:
        proc.start()
    lat, errors = [], 0
    for _ in ps:
        got, bad = q.get()
        lat.extend(got)
        errors += bad
    for proc in ps:
        proc.join()
    elapsed = time.monotonic() - t0
    lat.sort()

    def pct(f):
        return round(1000 * lat[min(len(lat) - 1, int(f * len(lat)))], 1) if lat else None

    print(json.dumps({"scenario": args.scenario, "connections": args.connections,
                      "requests": len(lat), "errors": errors,
                      "rps": round(len(lat) / elapsed, 1), "p50_ms": pct(0.50),
                      "p99_ms": pct(0.99)}))


if __name__ == "__main__":
    main()
