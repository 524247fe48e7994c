#!/usr/bin/env python3
"""gen_schemas.py — deterministic JSON Schemas for the generation test.

    python3 tests/sample/gen_schemas.py OUTDIR [SEED] [COUNT]

Writes COUNT (50) schemas OUTDIR/schema-NN.json. Each nests composites
(object, array, prefixItems tuple, anyOf, oneOf, allOf, $ref) five levels
deep along one "spine", with scalar leaves beside it; across the set every
keyword the converter supports appears (checked at the end: a keyword that
never appears is an error).

Everything is bounded so a random-weight model finishes within the test's
token budget: strings have maxLength <= 6 (or an enum, const, format or a
bounded pattern), arrays maxItems <= 2 on the spine and <= 3 at the leaves,
objects have additionalProperties false or absent (the converter then
allows no others) — an unbounded string or "any value" would let a random
model write for thousands of tokens. Those forms are covered by
tests/sample/test_json_schema.c instead, and so are recursive $refs: with
an optional "next" member the random model kept choosing to go on (lists
20+ deep, unfinished after 3000 tokens in 8 of 50 schemas), so here a $ref
names a definition that is not recursive. oneOf branches have different
types, so exactly one matches.
"""
import json
import os
import random
import sys

DEPTH = 5

PATTERNS = [
    "^[a-z]{1,4}$",
    "^[A-Z][a-z0-9_]{0,3}(-\\d{1,2})?$",
    "^(?:yes|no|maybe)$",
    "^\\d{3}-\\d{2}$",
    "^[^\\s]{2,3}x?$",
    "^(ab|c[de]){1,2}\\.$",
    "^.{1,3}$",
    "^[\"\\\\]{1,2}q$",
]


class Gen:
    def __init__(self, rng):
        self.rng = rng
        self.defs = {}
        self.n = 0

    def name(self, prefix):
        self.n += 1
        return "%s%d" % (prefix, self.n)

    # ---- leaves ----
    def string(self):
        r = self.rng.random()
        if r < 0.4:
            lo = self.rng.randint(0, 3)
            return {"type": "string", "minLength": lo, "maxLength": lo + self.rng.randint(0, 3)}
        if r < 0.65:
            return {"type": "string",
                    "format": self.rng.choice(["date", "time", "date-time", "uuid"])}
        return {"type": "string", "pattern": self.rng.choice(PATTERNS)}

    def integer(self):
        s = {"type": "integer"}
        k = self.rng.randint(0, 4)
        lo = self.rng.randint(-300, 300)
        hi = lo + self.rng.randint(1, 500)
        if k == 1:
            s.update(minimum=lo, maximum=hi)
        elif k == 2:
            s.update(exclusiveMinimum=lo, exclusiveMaximum=hi)
        elif k == 3:
            s.update(minimum=lo)
        elif k == 4:
            s.update(exclusiveMaximum=hi)
        return s

    def number(self):
        s = {"type": "number"}
        k = self.rng.randint(0, 3)
        lo = self.rng.randint(-50, 50)
        if k == 1:
            s.update(minimum=lo, maximum=lo + self.rng.randint(1, 100))
        elif k == 2:
            s.update(exclusiveMinimum=lo - 0.5, exclusiveMaximum=lo + 10.5)
        elif k == 3:
            s.update(maximum=lo)
        return s

    def leaf(self):
        k = self.rng.randint(0, 9)
        if k <= 1:
            return self.string()
        if k == 2:
            return self.integer()
        if k == 3:
            return self.number()
        if k == 4:
            return {"type": self.rng.choice(["boolean", "null"])}
        if k == 5:
            vals = ["red", "green", 7, -1.5, True, None, {"k": [1, "x"]}, [0, 1], "q\"uote"]
            return {"enum": self.rng.sample(vals, self.rng.randint(1, 4))}
        if k == 6:
            return {"const": self.rng.choice(["fixed", 42, False, None, {"a": {"b": []}}])}
        if k == 7:
            t = self.rng.sample(["integer", "null", "boolean", "string"], 2)
            s = {"type": t}
            if "string" in t:
                s["maxLength"] = 4
            return s
        if k == 8:
            return {"type": "array", "items": self.string(), "minItems": self.rng.randint(0, 1),
                    "maxItems": self.rng.randint(1, 3)}
        return self.integer()

    def scalar_not_object(self):
        return self.rng.choice([{"type": "null"}, {"type": "boolean"}, self.integer(),
                                self.string()])

    # ---- composites along the spine ----
    def node(self, depth):
        if depth == 0:
            return self.leaf()
        kind = self.rng.choice(["object", "object", "array", "tuple", "anyOf", "oneOf", "allOf",
                                "ref"])
        if kind == "object":
            return self.obj(depth)
        if kind == "array":
            return {"type": "array", "items": self.node(depth - 1),
                    "minItems": self.rng.randint(0, 1), "maxItems": self.rng.randint(1, 2)}
        if kind == "tuple":
            s = {"type": "array",
                 "prefixItems": [self.leaf(), self.node(depth - 1)]}
            r = self.rng.random()
            if r < 0.4:
                s["items"] = False
            elif r < 0.8:
                s["items"] = self.leaf()
                s["maxItems"] = self.rng.randint(2, 3)
            return s
        if kind == "anyOf":
            return {"anyOf": [self.node(depth - 1), self.leaf()]}
        if kind == "oneOf":
            inner = self.obj(depth - 1) if depth > 1 else {"type": "object",
                                                           "properties": {"z": self.leaf()},
                                                           "required": ["z"]}
            return {"oneOf": [inner, self.scalar_not_object()]}
        if kind == "allOf":
            a = self.obj(depth - 1) if depth > 1 else {"type": "object",
                                                       "properties": {"y": self.leaf()}}
            a.pop("additionalProperties", None)  # it would refuse b's property
            extra = self.name("p")
            b = {"properties": {extra: self.leaf()},
                 "required": [extra] if self.rng.random() < 0.5 else []}
            return {"allOf": [a, b]}
        # ref: a definition (not recursive: see the docstring)
        key = self.name("d")
        where = self.rng.choice(["$defs", "definitions"])
        self.defs.setdefault(where, {})[key] = self.node(depth - 1)
        return {"$ref": "#/%s/%s" % (where, key)}

    def obj(self, depth):
        props = {}
        names = [self.name("k") for _ in range(self.rng.randint(1, 3))]
        spine = self.rng.randrange(len(names) + 1)
        for i, n in enumerate(names):
            props[n] = self.leaf()
            if i == spine:
                props[n + "s"] = self.node(depth - 1)
        if spine == len(names):
            props["inner"] = self.node(depth - 1)
        keys = list(props)
        req = [k for k in keys if self.rng.random() < 0.6]
        s = {"type": "object", "properties": props}
        if req:
            s["required"] = req
        if self.rng.random() < 0.5:
            s["additionalProperties"] = False
        return s


def keywords(s, out):
    if isinstance(s, dict):
        for k, v in s.items():
            out.add(k)
            if k == "type":
                for t in (v if isinstance(v, list) else [v]):
                    out.add("type:" + t)
                if isinstance(v, list):
                    out.add("type:[...]")
            if k == "format":
                out.add("format:" + v)
            if k in ("properties", "$defs", "definitions"):
                for sub in v.values():
                    keywords(sub, out)
            elif k not in ("enum", "const", "required"):
                keywords(v, out)
    elif isinstance(s, list):
        for x in s:
            keywords(x, out)


def main():
    out = sys.argv[1]
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1234
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 50
    os.makedirs(out, exist_ok=True)
    seen = set()
    for i in range(count):
        g = Gen(random.Random(seed * 1000 + i))
        root = g.obj(DEPTH) if i % 3 == 0 else g.node(DEPTH)
        schema = dict(root) if isinstance(root, dict) else {"allOf": [root]}
        for where, defs in g.defs.items():
            schema[where] = defs
        keywords(schema, seen)
        with open(os.path.join(out, "schema-%02d.json" % i), "w") as f:
            json.dump(schema, f, indent=1)
            f.write("\n")
    want = ["type", "properties", "required", "additionalProperties", "enum", "const", "anyOf",
            "oneOf", "allOf", "$ref", "$defs", "definitions", "items", "prefixItems",
            "minItems", "maxItems", "minLength", "maxLength", "pattern", "format:date",
            "format:time", "format:date-time", "format:uuid", "minimum", "maximum",
            "exclusiveMinimum", "exclusiveMaximum", "type:[...]"] + [
            "type:" + t for t in
            ["string", "number", "integer", "boolean", "null", "object", "array"]]
    missing = [k for k in want if k not in seen] if count >= 50 else []
    if missing:
        sys.exit("gen_schemas.py: no schema uses " + ", ".join(missing))


if __name__ == "__main__":
    main()
