#!/usr/bin/python3
"""Cut Stripe's official OpenAPI spec down to what the emulator validates.

Usage: /usr/bin/python3 tests/stripe-emulator/cut_spec.py \
           [--in /work/shared/stripe/spec3.json] [--out tests/fixtures/stripe/spec.json]

Keeps only the operations listed in OPERATIONS, and of each only its path/query
parameters and its form-encoded request body schema (plus any component schemas
those reference, transitively).  Responses, descriptions and other documentation
fields are dropped.  Standard library only; output is deterministic.
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

# (path, method) pairs served by emulator.py.  Keep in sync with ROUTES there.
OPERATIONS = [
    ("/v1/customers", "get"),
    ("/v1/customers", "post"),
    ("/v1/customers/search", "get"),
    ("/v1/customers/{customer}", "get"),
    ("/v1/customers/{customer}", "post"),
    ("/v1/customers/{customer}", "delete"),
    ("/v1/customers/{customer}/payment_methods", "get"),
    ("/v1/payment_methods", "get"),
    ("/v1/payment_methods/{payment_method}", "get"),
    ("/v1/payment_methods/{payment_method}/attach", "post"),
    ("/v1/payment_methods/{payment_method}/detach", "post"),
    ("/v1/payment_intents", "post"),
    ("/v1/payment_intents/{intent}", "get"),
    ("/v1/payment_intents/{intent}", "post"),
    ("/v1/payment_intents/{intent}/confirm", "post"),
    ("/v1/payment_intents/{intent}/cancel", "post"),
    ("/v1/checkout/sessions", "post"),
    ("/v1/checkout/sessions/{session}", "get"),
    ("/v1/refunds", "post"),
    ("/v1/billing_portal/sessions", "post"),
    ("/v1/events", "get"),
    ("/v1/events/{id}", "get"),
    ("/v1/subscriptions/{subscription_exposed_id}", "get"),
    ("/v1/subscriptions/{subscription_exposed_id}", "post"),
    ("/v1/subscriptions/{subscription_exposed_id}", "delete"),
    ("/v1/products", "post"),
    ("/v1/products/{id}", "get"),
    ("/v1/prices", "post"),
    ("/v1/prices/{price}", "get"),
    ("/v1/prices/{price}", "post"),
    ("/v1/setup_intents", "post"),
    ("/v1/setup_intents/{intent}", "get"),
    ("/v1/setup_intents/{intent}/confirm", "post"),
]

FORM = "application/x-www-form-urlencoded"
# Keys of a schema object that validation uses; everything else is documentation.
SCHEMA_KEYS = {
    "type", "properties", "additionalProperties", "items", "required", "enum",
    "anyOf", "oneOf", "allOf", "maxLength", "format", "nullable", "$ref",
    "x-stripeBypassValidation",
}


def strip_schema(s):
    if isinstance(s, list):
        return [strip_schema(x) for x in s]
    if not isinstance(s, dict):
        return s
    out = {}
    for k, v in s.items():
        if k not in SCHEMA_KEYS:
            continue
        if k == "properties":
            out[k] = {name: strip_schema(sub) for name, sub in v.items()}
        elif k in ("items", "additionalProperties", "anyOf", "oneOf", "allOf"):
            out[k] = strip_schema(v)
        else:
            out[k] = v
    return out


def refs(obj, acc):
    if isinstance(obj, dict):
        r = obj.get("$ref")
        if isinstance(r, str) and r.startswith("#/components/schemas/"):
            acc.add(r.rsplit("/", 1)[1])
        for v in obj.values():
            refs(v, acc)
    elif isinstance(obj, list):
        for v in obj:
            refs(v, acc)


def cut(spec):
    paths = {}
    for path, method in OPERATIONS:
        op = spec["paths"][path][method]
        new = {"operationId": op.get("operationId")}
        params = []
        for p in op.get("parameters", []):
            q = {k: p[k] for k in ("name", "in", "required", "style", "explode") if k in p}
            q["schema"] = strip_schema(p.get("schema", {}))
            params.append(q)
        new["parameters"] = params
        body = op.get("requestBody", {}).get("content", {}).get(FORM)
        if body is not None:
            new["requestBody"] = {"content": {FORM: {"schema": strip_schema(body.get("schema", {}))}}}
        paths.setdefault(path, {})[method] = new
    # component schemas referenced from what we kept, transitively
    schemas = spec.get("components", {}).get("schemas", {})
    keep, todo = {}, set()
    refs(paths, todo)
    while todo:
        name = todo.pop()
        if name in keep or name not in schemas:
            continue
        keep[name] = strip_schema(schemas[name])
        more = set()
        refs(keep[name], more)
        todo |= more - set(keep)
    return {
        "openapi": spec.get("openapi"),
        "info": {
            "title": spec["info"].get("title"),
            "version": spec["info"].get("version"),
            "x-cut-by": "tests/stripe-emulator/cut_spec.py (request validation only; "
                        "responses and descriptions removed)",
        },
        "paths": paths,
        "components": {"schemas": dict(sorted(keep.items()))},
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--in", dest="src", default="/work/shared/stripe/spec3.json")
    ap.add_argument("--out", default=os.path.join(REPO, "tests", "fixtures", "stripe", "spec.json"))
    a = ap.parse_args()
    with open(a.src, encoding="utf-8") as f:
        spec = json.load(f)
    out = cut(spec)
    tmp = a.out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1, sort_keys=True, ensure_ascii=False)
        f.write("\n")
    os.replace(tmp, a.out)
    print("%s: %d operations, %d component schemas, %d bytes"
          % (a.out, len(OPERATIONS), len(out["components"]["schemas"]), os.path.getsize(a.out)),
          file=sys.stderr)


if __name__ == "__main__":
    main()
