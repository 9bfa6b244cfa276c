#!/usr/bin/python3
"""Helpers for tests/integration/run-web-errors.sh (Python standard library only).

  webcheck.py send PORT [SOURCE_ADDR] <REQUEST >RESPONSE
      Sends the raw bytes on stdin to 127.0.0.1:PORT (from SOURCE_ADDR when given) and
      writes the raw reply, read until the server closes (15 s at most). For requests
      curl will not make: malformed lines, oversized headers and URIs. With
      PB_OPENAPI_RECORD set, the exchange is appended to that file as itest.c records
      its responses, for tests/openapi/validate.py.
  webcheck.py error RESPONSE STATUS CODE [--retry-after] [--server-body]
      Checks a web server's (or, with --server-body, paybridge's) JSON error: the status,
      one Content-Type of application/json, one X-Request-Id, a body
      {"success":false,"timestamp":...,"error":{"code":CODE,"message":...}}, and one
      numeric Retry-After with --retry-after, none without.
  webcheck.py exact RESPONSE STATUS BODY_FILE HEADER:VALUE...
      Checks that a backend's response passed through unchanged: the status, the body
      byte for byte, each header present exactly once with that value.
  webcheck.py params RESPONSE START_REGEX FORGED_ID
      Checks the FastCGI parameters that fake-fcgi reported: one HTTP_X_REQUEST_START
      matching START_REGEX within a minute of now, one HTTP_X_REQUEST_ID other than
      FORGED_ID and equal to the response's X-Request-Id.
  webcheck.py fake-fcgi SOCKET
      A FastCGI responder on a unix socket standing in for paybridge: it answers
      /v1/fake/params with the parameters it received (as a JSON list of pairs, so that a
      duplicate shows) and /v1/fake/503 with a fixed JSON 503 and Retry-After: 7, and
      echoes HTTP_X_REQUEST_ID as X-Request-Id as paybridge does.
  webcheck.py fake-503-body >FILE
      Writes the body of fake-fcgi's 503, to compare with what reaches the client.

Each check prints one line per problem and exits 1 if there was any.
"""
import json
import os
import re
import socket
import socketserver
import struct
import sys
import time

FAKE_503_BODY = (b'{"success":false,"timestamp":"2026-01-01T00:00:00.000000Z",'
                 b'"error":{"code":"overloaded","message":"fake backend: busy"}}\n')


def send(port, source=None):
    data = sys.stdin.buffer.read()
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(15)
    if source:
        s.bind((source, 0))
    s.connect(("127.0.0.1", int(port)))
    try:
        # No shutdown(SHUT_WR) after it: nginx would take the half close for a client
        # that went away, and abandon a proxied request (499).
        s.sendall(data)
    except OSError:
        pass  # the server may answer and close before reading everything
    out = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    except OSError:
        pass  # a reset after the reply: keep what arrived
    record(port, data, out)
    sys.stdout.buffer.write(out)


def record(port, request, reply):
    """With PB_OPENAPI_RECORD set, appends the exchange as tests/integration/itest.c does
    (one JSON line, one write), for tests/openapi/validate.py. A request line that does
    not parse, or no reply, leaves nothing to hold against the description."""
    path = os.environ.get("PB_OPENAPI_RECORD")
    m = re.match(rb"([A-Z]+) (/[^ ?\r\n]*)(?:\?([^ \r\n]*))? HTTP/1\.[01]\r\n", request)
    status, headers, body = parse_reply(reply)
    head = reply.partition(b"\r\n\r\n")[0].decode("latin-1")
    if not path or not m or status is None:
        return
    line = json.dumps({
        "method": m.group(1).decode(), "origin": "http://127.0.0.1:%s" % port,
        "path": m.group(2).decode("latin-1"), "query": (m.group(3) or b"").decode("latin-1"),
        "content_type": next((v for n, v in headers if n == "content-type"), ""),
        "headers": head + "\r\n\r\n",
        "body": body.decode("utf-8", "replace"), "status": status}) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def parse(path):
    """Returns (status, [(name_lower, value)], body) of a raw HTTP/1.1 reply in path."""
    with open(path, "rb") as f:
        return parse_reply(f.read())


def parse_reply(raw):
    """Returns (status, [(name_lower, value)], body) of a raw HTTP/1.1 reply."""
    head, sep, rest = raw.partition(b"\r\n\r\n")
    if not sep:
        return None, [], b""
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"HTTP/1\.[01] (\d{3})", lines[0])
    status = int(m.group(1)) if m else None
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.append((name.strip().lower(), value.strip()))
    te = [v for n, v in headers if n == "transfer-encoding"]
    if te and te[0].lower() == "chunked":
        body = b""
        while rest:
            size, _, rest = rest.partition(b"\r\n")
            n = int(size.split(b";")[0], 16)
            if n == 0:
                break
            body += rest[:n]
            rest = rest[n + 2:]
        rest = body
    else:
        cl = [v for n, v in headers if n == "content-length"]
        if cl:
            rest = rest[:int(cl[0])]
    return status, headers, rest


def values(headers, name):
    return [v for n, v in headers if n == name.lower()]


def one(problems, headers, name):
    v = values(headers, name)
    if len(v) != 1:
        problems.append("%d %s headers, want 1: %r" % (len(v), name, v))
        return None
    return v[0]


def finish(problems, path):
    for p in problems:
        print("  " + p)
    if problems:
        raw = open(path, "rb").read()
        print("  reply: %r" % raw[:600])
    return 1 if problems else 0


def check_error(path, status, code, args):
    problems = []
    st, headers, body = parse(path)
    if st != int(status):
        problems.append("status %s, want %s" % (st, status))
    ct = one(problems, headers, "Content-Type")
    if ct is not None and ct.split(";")[0].strip() != "application/json":
        problems.append("Content-Type %r" % ct)
    rid = one(problems, headers, "X-Request-Id")
    if rid is not None and not re.fullmatch(r"[A-Za-z0-9._-]{8,64}", rid):
        problems.append("X-Request-Id %r is not an id paybridge would echo" % rid)
    retry = values(headers, "Retry-After")
    if "--retry-after" in args:
        if len(retry) != 1 or not retry[0].isdigit():
            problems.append("Retry-After %r, want one number" % retry)
    elif retry:
        problems.append("unexpected Retry-After %r" % retry)
    try:
        doc = json.loads(body)
    except ValueError:
        problems.append("body is not JSON")
        return finish(problems, path)
    err = doc.get("error") if isinstance(doc, dict) else None
    if doc.get("success") is not False or not isinstance(err, dict):
        problems.append("not an error envelope")
        return finish(problems, path)
    if err.get("code") != code:
        problems.append("error.code %r, want %r" % (err.get("code"), code))
    if not isinstance(err.get("message"), str) or not err["message"]:
        problems.append("no error.message")
    ts = doc.get("timestamp")
    # The web servers' (no fraction; nginx with an offset) and paybridge's (microseconds, Z).
    want = (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z" if "--server-body" in args else
            r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d([+-]\d\d:\d\d)?")
    if not isinstance(ts, str) or not re.fullmatch(want, ts):
        problems.append("timestamp %r" % ts)
    return finish(problems, path)


def check_exact(path, status, body_file, pairs):
    problems = []
    st, headers, body = parse(path)
    if st != int(status):
        problems.append("status %s, want %s" % (st, status))
    if body != open(body_file, "rb").read():
        problems.append("body changed: %r" % body[:300])
    for pair in pairs:
        name, _, want = pair.partition(":")
        v = one(problems, headers, name)
        if v is not None and v != want:
            problems.append("%s %r, want %r" % (name, v, want))
    return finish(problems, path)


def check_params(path, start_re, forged_id):
    problems = []
    st, headers, body = parse(path)
    if st != 200:
        problems.append("status %s, want 200" % st)
        return finish(problems, path)
    params = json.loads(body)["params"]
    starts = [v for n, v in params if n == "HTTP_X_REQUEST_START"]
    ids = [v for n, v in params if n == "HTTP_X_REQUEST_ID"]
    if len(starts) != 1 or not re.fullmatch(start_re, starts[0]):
        problems.append("HTTP_X_REQUEST_START %r, want one matching %s" % (starts, start_re))
    else:
        t = float(starts[0][2:])
        if t > 1e12:
            t /= 1e6  # Apache's microseconds
        if abs(t - time.time()) > 60:
            problems.append("HTTP_X_REQUEST_START %r is not now" % starts[0])
    if len(ids) != 1 or ids[0] == forged_id:
        problems.append("HTTP_X_REQUEST_ID %r: want one, not the client's" % ids)
    elif values(headers, "X-Request-Id") != ids:
        problems.append("X-Request-Id %r, paybridge saw %r" % (values(headers, "X-Request-Id"), ids))
    return finish(problems, path)


def fcgi_pairs(data):
    out, i = [], 0
    while i < len(data):
        lens = []
        for _ in range(2):
            if data[i] & 0x80:
                lens.append(struct.unpack(">I", data[i:i + 4])[0] & 0x7FFFFFFF)
                i += 4
            else:
                lens.append(data[i])
                i += 1
        name = data[i:i + lens[0]].decode("latin-1")
        i += lens[0]
        value = data[i:i + lens[1]].decode("latin-1")
        i += lens[1]
        out.append((name, value))
    return out


def fcgi_record(rtype, rid, content):
    return struct.pack(">BBHHBB", 1, rtype, rid, len(content), 0, 0) + content


class FakeFcgi(socketserver.StreamRequestHandler):
    def record(self):
        head = self.rfile.read(8)
        if len(head) < 8:
            return None
        _, rtype, rid, clen, plen, _ = struct.unpack(">BBHHBB", head)
        content = self.rfile.read(clen)
        self.rfile.read(plen)
        return rtype, rid, content

    def handle(self):
        while True:
            params, keep, stdin_done, params_done, rid = b"", False, False, False, 1
            while not (stdin_done and params_done):
                rec = self.record()
                if rec is None:
                    return
                rtype, rid, content = rec
                if rtype == 1:  # FCGI_BEGIN_REQUEST
                    keep = bool(content[2] & 1)
                elif rtype == 4:  # FCGI_PARAMS
                    params += content
                    params_done = not content
                elif rtype == 5:  # FCGI_STDIN
                    stdin_done = not content
            pairs = fcgi_pairs(params)
            env = dict(pairs)
            rid_hdr = "X-Request-Id: %s\r\n" % env.get("HTTP_X_REQUEST_ID", "none")
            if env.get("REQUEST_URI", "").startswith("/v1/fake/503"):
                out = ("Status: 503 Service Unavailable\r\n"
                       "Content-Type: application/json; charset=utf-8\r\n"
                       "Retry-After: 7\r\n" + rid_hdr + "\r\n").encode() + FAKE_503_BODY
            else:
                body = json.dumps({"params": pairs}).encode()
                out = ("Status: 200 OK\r\nContent-Type: application/json\r\n" + rid_hdr +
                       "\r\n").encode() + body
            self.wfile.write(fcgi_record(6, rid, out) + fcgi_record(6, rid, b"") +
                             fcgi_record(3, rid, struct.pack(">IB3x", 0, 0)))
            self.wfile.flush()
            if not keep:
                return


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def fake_fcgi(path):
    if os.path.exists(path):
        os.unlink(path)
    srv = Server(path, FakeFcgi)
    os.chmod(path, 0o666)
    srv.serve_forever()


def main(argv):
    cmd = argv[1] if len(argv) > 1 else ""
    if cmd == "send" and len(argv) in (3, 4):
        send(argv[2], argv[3] if len(argv) == 4 else None)
        return 0
    if cmd == "error" and len(argv) >= 5:
        return check_error(argv[2], argv[3], argv[4], argv[5:])
    if cmd == "exact" and len(argv) >= 5:
        return check_exact(argv[2], argv[3], argv[4], argv[5:])
    if cmd == "params" and len(argv) == 5:
        return check_params(argv[2], argv[3], argv[4])
    if cmd == "fake-fcgi" and len(argv) == 3:
        fake_fcgi(argv[2])
        return 0
    if cmd == "fake-503-body" and len(argv) == 2:
        sys.stdout.buffer.write(FAKE_503_BODY)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
