import fc from "fast-check";

/**
 * Options for a property: a bounded number of runs (PROPERTY_RUNS, default `runs`) and a seed
 * that is printed, so any failure in CI can be replayed locally with PROPERTY_SEED=<seed>.
 */
export function propertyRuns(name: string, runs = 200): fc.Parameters<unknown> {
  const seed = process.env.PROPERTY_SEED ? Number(process.env.PROPERTY_SEED) : Math.floor(Math.random() * 2 ** 31);
  const numRuns = process.env.PROPERTY_RUNS ? Number(process.env.PROPERTY_RUNS) : runs;
  process.stdout.write(`property "${name}": ${numRuns} runs, seed ${seed} (replay: PROPERTY_SEED=${seed})\n`);
  return { seed, numRuns };
}

/** Object keys that trip up plain-object code: prototype members, empty, astral and private-use characters. */
export const trickyKey = fc.oneof(
  fc.constantFrom("__proto__", "constructor", "toString", "hasOwnProperty", "valueOf", "", "a", "b", "z", "\uffff", "\ue000", "😀", "é"),
  fc.string({ maxLength: 6, unit: "binary" }),
);

/** JSON values (strings, safe integers, booleans, null, arrays, objects) with tricky keys and any code point in strings. */
export const jsonWithTrickyKeys: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.string({ unit: "binary", maxLength: 12 }),
    fc.integer({ min: -1e15, max: 1e15 }),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 4 }),
    fc
      .uniqueArray(fc.tuple(trickyKey, tie("value")), { maxLength: 5, selector: ([k]) => k })
      // JSON.parse, as a pack or a bundle file is read: "__proto__" becomes an ordinary member.
      .map((pairs) => JSON.parse(`{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(",")}}`) as unknown),
  ),
})).value;
