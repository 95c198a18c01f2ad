import fc from "fast-check";
import { ConfigError, environments, validateEnvironment } from "../../config/load";
import { propertyRuns, trickyKey } from "../support/properties";

// The config loader against mutated environments: one value anywhere in staging or production
// replaced by anything. It either accepts the result or throws ConfigError, each problem naming
// a key; it never crashes with a TypeError on the way.

type Path = Array<string | number>;

/** Every path in a value (objects and arrays included, the root excluded). */
function paths(value: unknown, prefix: Path = [], out: Path[] = []): Path[] {
  if (value !== null && typeof value === "object")
    for (const [k, v] of Object.entries(value)) {
      const p = [...prefix, Array.isArray(value) ? Number(k) : k];
      out.push(p);
      paths(v, p, out);
    }
  return out;
}

function withValue(input: unknown, path: Path, replacement: unknown): unknown {
  const copy = structuredClone(input) as Record<string | number, unknown>;
  let at = copy;
  for (const key of path.slice(0, -1)) at = at[key] as Record<string | number, unknown>;
  const last = path[path.length - 1];
  if (replacement === undefined) delete at[last];
  else Object.defineProperty(at, last, { value: replacement, enumerable: true, writable: true, configurable: true });
  return copy;
}

const anything = fc.oneof(
  fc.constantFrom(
    undefined,
    null,
    "",
    -1,
    0,
    1.5,
    Number.POSITIVE_INFINITY,
    Number.NaN,
    true,
    [],
    {},
    "x".repeat(300),
    "${aws_s3_bucket.x.arn}",
    "0.0.0.0/0",
    "*",
  ),
  fc.jsonValue({ maxDepth: 2 }),
  fc.dictionary(trickyKey, fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }),
);

test.each(Object.keys(environments))(
  "%s: any one value replaced by anything is accepted or refused with every problem naming its key",
  (name) => {
    const input = environments[name];
    const all = paths(input);
    fc.assert(
      fc.property(fc.nat({ max: all.length - 1 }), anything, (i, replacement) => {
        const mutated = withValue(input, all[i], replacement);
        try {
          validateEnvironment(name, mutated);
        } catch (err) {
          if (!(err instanceof ConfigError)) throw err;
          expect(err.problems.length).toBeGreaterThan(0);
          for (const problem of err.problems)
            expect(problem).toMatch(/^(\(root\)|([\w$-]+|\["(?:[^"\\]|\\.)*"\])(\[\d+\]|\.[\w$-]+|\["(?:[^"\\]|\\.)*"\])*): \S/);
        }
      }),
      propertyRuns(`config mutation (${name})`, 300),
    );
  },
);

test("a key that is not a plain name is quoted in the problem (found by the property above: it printed 'gateway.groupRoles.')", () => {
  const mutated = withValue(environments.staging, ["gateway", "groupRoles"], { "": 0, "two words": "viewer" });
  expect(() => validateEnvironment("staging", mutated)).toThrow(ConfigError);
  try {
    validateEnvironment("staging", mutated);
  } catch (err) {
    expect((err as ConfigError).problems.some((p) => p.startsWith('gateway.groupRoles[""]: '))).toBe(true);
  }
});
