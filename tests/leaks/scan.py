#!/usr/bin/python3
"""The secret-leak check (issue 14): after the whole of script/test, no log the suites
wrote holds a secret. Scans every *.log under the paths given (script/test gives
build/logs, where each suite's output is and where tests/leaks/archive.sh copied each
stack's paybridge, emulator, nginx, Apache and MariaDB logs) for:

  stripe_key      a Stripe secret or restricted key: sk_test_/sk_live_/rk_... and its body
  webhook_secret  a webhook signing secret: whsec_ and its body
  authorization   an Authorization header's value: Bearer or Basic and a credential
  jwt             a JSON Web Token: three base64url parts, the first starting eyJ
  password        a password the suites use (PASSWORDS below)
  card_number     13 to 19 digits passing Luhn, as a card number starts (2 to 6) and is
                  written (one run, groups of four, or Amex's 4-6-5)

  tests/leaks/scan.py PATH...      prints each finding as FILE:LINE: KIND: the match
                                   (masked), then "1 passed, 0 failed" or "0 passed,
                                   1 failed"; exits 1 on any finding or when no log
                                   was found

A match is shown masked (its first characters only), so the report is no leak itself.
Python's standard library only.
"""
import os
import re
import sys

# Every password the suites send: tests/integration/itest.h (ITEST_PASSWORD),
# test_profile.c, test_accounts.c, tests/browser, tests/pylib/pbsuite.py.
PASSWORDS = [
    "correct horse battery",
    "a brand new one!",
    "not the password",
    "wrong password, again",
]

PATTERNS = [
    ("stripe_key", re.compile(r"\b[sr]k_(?:test|live)_[A-Za-z0-9_]{6,}")),
    ("webhook_secret", re.compile(r"\bwhsec_[A-Za-z0-9_]{6,}")),
    ("authorization", re.compile(r"\b(?:Bearer|Basic)\s+[\w.~+/=-]{12,}")),
    ("jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}")),
    ("password", re.compile("|".join(re.escape(p) for p in PASSWORDS), re.IGNORECASE)),
]
# A payment card's number starts 2 to 6 (Mastercard's 2-series, Amex, JCB and Diners,
# Visa, Mastercard, Discover and UnionPay), which keeps epoch timestamps in milli- or
# microseconds (1...) and zero-filled ids (0...) out. Written as one run of digits, in
# groups of four, or Amex's 4-6-5; never inside a word (a hex id), a decimal or a
# dash-joined id (a UUID).
CARD = re.compile(r"(?<![\w.-])(?:[2-6]\d{12,18}|[2-6]\d{3}(?:[ -]\d{4}){3}\d{0,3}"
                  r"|3\d{3}[ -]\d{6}[ -]\d{5})(?![\w.]|-\w)")


def luhn(digits):
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def findings(text):
    """(kind, match) for every secret-looking thing in text."""
    out = []
    for kind, rx in PATTERNS:
        out += [(kind, m.group(0)) for m in rx.finditer(text)]
    for m in CARD.finditer(text):
        digits = re.sub(r"[ -]", "", m.group(0))
        if 13 <= len(digits) <= 19 and luhn(digits):
            out.append(("card_number", m.group(0)))
    return out


def mask(s):
    return s[:6] + "…(%d chars)" % len(s)


def log_files(paths):
    for p in paths:
        if os.path.isfile(p):
            yield p
            continue
        for root, _, files in os.walk(p):
            for f in sorted(files):
                if f.endswith(".log"):
                    yield os.path.join(root, f)


def main(argv):
    if not argv:
        print(__doc__.strip().split("\n\n")[2], file=sys.stderr)
        return 2
    clean = leaky = 0
    for path in log_files(argv):
        found = []
        with open(path, encoding="utf-8", errors="replace") as f:
            for n, line in enumerate(f, 1):
                found += [(n, k, m) for k, m in findings(line)]
        for n, kind, m in found[:20]:
            print("%s:%d: %s: %s" % (path, n, kind, mask(m)))
        if len(found) > 20:
            print("%s: %d more" % (path, len(found) - 20))
        if found:
            leaky += 1
        else:
            clean += 1
    if clean + leaky == 0:
        print("leaks: no log under %s" % " ".join(argv))
        print("0 passed, 1 failed")
        return 1
    print("leaks: %d logs scanned, %d with a secret" % (clean + leaky, leaky))
    print("%d passed, %d failed" % (0 if leaky else 1, 1 if leaky else 0))
    return 1 if leaky else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
