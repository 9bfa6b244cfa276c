#!/usr/bin/python3
"""Holds recorded responses against docs/openapi.yaml, paybridge's API description.

  validate.py [--spec FILE] [--skip-origin URL]... [--routes DISPATCH_C] RECORD...

Each RECORD holds one JSON object a line, {method, origin, path, query, content_type,
headers, body, status}, as tests/integration/itest.c and webcheck.py append them when
PB_OPENAPI_RECORD names the file. Each request is matched to its path template and
operation (HEAD as the GET, without a body), its status must be described there (or, for a
path no template matches and a method the path does not have, under
x-paybridge-unmatched; for the web servers' own errors, under x-paybridge-web-server), the
headers it marks required must be there, and a JSON body must validate against the schema, $refs resolved
within the description. Skipped, and counted as skipped, are only what is not paybridge's
contract: requests to an origin named by --skip-origin (the Stripe emulator and its
control API), the test-only routes under /v1/test/, and nginx's internal locations under
/_paybridge/ (nchan's publisher, which the live tests read). --routes also checks that every
route of dispatch.c (outside #ifdef PB_TEST_ROUTES) is an operation here.

Prints one block per mismatch (the request, the status, the problem, the body's start)
and a summary line; exits 1 on any mismatch, 2 on a usage or description error.

Debian's python3-yaml and python3-jsonschema (4.10 in Debian 12: Draft202012Validator,
the dialect of OpenAPI 3.1) are all it needs.
"""
import argparse
import json
import os
import re
import sys

import jsonschema
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SPEC = os.path.join(HERE, "..", "..", "docs", "openapi.yaml")
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
TEST_ROUTES = "/v1/test/"
# nginx's own internal locations (nchan's publisher, local only; the error page): the web
# server's plumbing for paybridge, not an API paybridge answers.
WEB_SERVER_INTERNAL = "/_paybridge/"


class SpecError(Exception):
    pass


class Spec:
    def __init__(self, doc):
        self.doc = doc
        if not str(doc.get("openapi", "")).startswith("3.1"):
            raise SpecError("not an OpenAPI 3.1 description")
        self.resolver = jsonschema.RefResolver(base_uri="", referrer=doc)
        self.validators = {}
        self.templates = []
        for template, item in (doc.get("paths") or {}).items():
            names = re.findall(r"\{([^}/]+)\}", template)
            pattern = "^" + re.sub(r"\\\{[^}/]+\\\}", "[^/]+", re.escape(template)) + "$"
            self.templates.append((len(names), template, re.compile(pattern), item))
        # A literal segment wins over a parameter: /v1/users/me before /v1/users/{id}.
        self.templates.sort(key=lambda t: (t[0], t[1]))
        for name, schema in ((doc.get("components") or {}).get("schemas") or {}).items():
            try:
                jsonschema.Draft202012Validator.check_schema(schema)
            except jsonschema.SchemaError as e:
                raise SpecError("components/schemas/%s: %s" % (name, e.message)) from e

    def deref(self, obj):
        """Follows an OpenAPI-level $ref (a response, a parameter, a header)."""
        seen = 0
        while isinstance(obj, dict) and "$ref" in obj and len(obj) == 1:
            ref = obj["$ref"]
            if not ref.startswith("#/"):
                raise SpecError("only local $refs are allowed: " + ref)
            obj = self.doc
            for part in ref[2:].split("/"):
                part = part.replace("~1", "/").replace("~0", "~")
                if not isinstance(obj, dict) or part not in obj:
                    raise SpecError("unresolved $ref " + ref)
                obj = obj[part]
            seen += 1
            if seen > 20:
                raise SpecError("a $ref loop at " + ref)
        return obj

    def match(self, method, path):
        """Returns (template, operation or None, responses) for a request."""
        m = "get" if method.upper() == "HEAD" else method.lower()
        for _, template, rx, item in self.templates:
            if rx.match(path):
                op = item.get(m) if m in METHODS else None
                if op is not None:
                    return template, op, op.get("responses") or {}
                return template, None, self.unmatched()
        return None, None, self.unmatched()

    def unmatched(self):
        return (self.doc.get("x-paybridge-unmatched") or {}).get("responses") or {}

    def operations(self):
        for template, item in (self.doc.get("paths") or {}).items():
            for m in METHODS:
                if m in item:
                    yield m.upper(), template

    def check(self, rec):
        """Returns None when rec matches the description, else the problem."""
        method, path, status = rec["method"], rec["path"], rec["status"]
        template, op, responses = self.match(method, path)
        where = "%s %s" % (method, template) if op is not None else (
            "%s %s (no such operation)" % (method, template) if template is not None
            else "%s %s (no such path)" % (method, path))
        resp = responses.get(str(status))
        if resp is None:
            resp = responses.get("%dXX" % (status // 100), responses.get("default"))
        if resp is None:
            # What nginx and Apache may answer for any request, listed once.
            resp = ((self.doc.get("x-paybridge-web-server") or {}).get("responses")
                    or {}).get(str(status))
        if resp is None:
            return "status %d is not described for %s" % (status, where)
        resp = self.deref(resp)
        if "headers" in rec:
            names = header_names(rec["headers"])
            for name, h in (resp.get("headers") or {}).items():
                if self.deref(h).get("required") and name.lower() not in names:
                    return "%s %d: the %s header is required and missing" % (
                        where, status, name)
        content = resp.get("content") or {}
        body = rec.get("body", "")
        if method.upper() == "HEAD" or status in (204, 304) or not content:
            if body and content == {} and method.upper() != "HEAD":
                return "%s %d is described without a body, and one came" % (where, status)
            return None
        ctype = (rec.get("content_type") or "").split(";")[0].strip().lower()
        media = content.get(ctype)
        if media is None:
            return "%s %d: Content-Type %r is not one of %s" % (
                where, status, ctype or "(none)", ", ".join(sorted(content)))
        schema = media.get("schema")
        if schema is None:
            return None
        if ctype == "application/json" or ctype.endswith("+json"):
            try:
                value = json.loads(body)
            except ValueError as e:
                return "%s %d: the body is not JSON (%s)" % (where, status, e)
        else:
            value = body
        validator = self.validators.get(id(schema))
        if validator is None:
            validator = jsonschema.Draft202012Validator(schema, resolver=self.resolver)
            self.validators[id(schema)] = validator
        errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
        if errors:
            e = jsonschema.exceptions.best_match(errors)
            at = "/".join(str(p) for p in e.absolute_path) or "(the body)"
            return "%s %d: at %s: %s" % (where, status, at, e.message)
        return None


def header_names(block):
    """The lower-cased names in a raw header block (of the last response, after a 100)."""
    last = block.replace("\r\n", "\n").strip("\n").split("\n\n")[-1]
    return {line.partition(":")[0].strip().lower() for line in last.split("\n")[1:]
            if ":" in line}


def load_spec(path):
    with open(path, encoding="utf-8") as f:
        return Spec(yaml.safe_load(f))


def dispatch_routes(path):
    """(METHOD, path) of every route in dispatch.c, the test-only ones left out."""
    routes, depth_test = [], False
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#ifdef PB_TEST_ROUTES"):
                depth_test = True
            elif line.startswith("#endif"):
                depth_test = False
            m = re.search(r'\{\s*HTTP_([A-Z]+),\s*"([^"]+)"', line)
            if m and not depth_test:
                routes.append((m.group(1), m.group(2)))
    return routes


def skipped(rec, skip_origins):
    return rec.get("origin", "").rstrip("/") in skip_origins or \
        rec.get("path", "").startswith((TEST_ROUTES, WEB_SERVER_INTERNAL))


def read_records(paths):
    for p in paths:
        with open(p, "rb") as f:
            for n, raw in enumerate(f, 1):
                line = raw.decode("utf-8", "replace").strip()
                if line:
                    try:
                        yield "%s:%d" % (p, n), json.loads(line)
                    except ValueError as e:
                        yield "%s:%d" % (p, n), {"_broken": str(e)}


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spec", default=DEFAULT_SPEC)
    ap.add_argument("--skip-origin", action="append", default=[])
    ap.add_argument("--routes")
    ap.add_argument("--list-untested", action="store_true")
    ap.add_argument("records", nargs="*")
    args = ap.parse_args(argv)
    try:
        spec = load_spec(args.spec)
    except (OSError, yaml.YAMLError, SpecError) as e:
        print("validate.py: %s: %s" % (args.spec, e), file=sys.stderr)
        return 2
    bad = 0
    if args.routes:
        ops = set(spec.operations())
        for method, path in dispatch_routes(args.routes):
            if (method, path) not in ops:
                print("openapi: %s %s is a route in %s but not an operation" % (
                    method, path, args.routes))
                bad += 1
    skip = {o.rstrip("/") for o in args.skip_origin}
    checked = skips = 0
    seen = set()
    for where, rec in read_records(args.records):
        if "_broken" in rec:
            print("openapi: %s: a broken record: %s" % (where, rec["_broken"]))
            bad += 1
            continue
        if skipped(rec, skip):
            skips += 1
            continue
        checked += 1
        try:
            problem = spec.check(rec)
        except SpecError as e:
            problem = "the description: %s" % e
        template, op, _ = spec.match(rec["method"], rec["path"])
        if op is not None:
            seen.add(("GET" if rec["method"] == "HEAD" else rec["method"], template))
        if problem is not None:
            bad += 1
            q = "?" + rec["query"] if rec.get("query") else ""
            print("openapi: MISMATCH %s %s%s -> %s (%s)\n  %s\n  body: %s" % (
                rec["method"], rec["path"], q, rec["status"], where, problem,
                rec.get("body", "")[:400]))
    untested = sorted(set(spec.operations()) - seen)
    print("openapi: %d responses checked against %s, %d skipped (emulator, test routes, nginx internals), "
          "%d mismatches; %d operations not exercised%s" % (
              checked, os.path.normpath(args.spec), skips, bad, len(untested),
              (": " + ", ".join("%s %s" % u for u in untested)) if untested and
              args.list_untested else ""))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
