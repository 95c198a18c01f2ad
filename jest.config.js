// Tests are TypeScript transpiled by swc (no type-checking here: `npm run typecheck` does that).
// Dynamic import() is kept as-is so ESM-only packages (@kubernetes-models/*) load; that needs
// Node's VM modules, enabled in the test script through NODE_OPTIONS.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  // Fails the run under CI=true when jest is not on .nvmrc's Node major (warns locally), and makes
  // the folder the run's suites share each environment's synth in (harness/synth.ts).
  globalSetup: "<rootDir>/__tests__/support/global-setup.ts",
  globalTeardown: "<rootDir>/__tests__/support/global-teardown.ts",
  roots: ["<rootDir>/__tests__"],
  testMatch: ["**/*.test.ts", "**/*.test.tsx"],
  transform: {
    "^.+\\.(t|j)sx?$": [
      "@swc/jest",
      {
        jsc: { parser: { syntax: "typescript", tsx: true }, target: "es2022", transform: { react: { runtime: "automatic" } } },
        module: { type: "commonjs", ignoreDynamic: true },
      },
    ],
  },
  // cookie@2 (under fastify's light-my-request) ships ESM only; Node loads it through
  // require(esm), jest does not, so swc turns it into CommonJS for the tests.
  transformIgnorePatterns: ["/node_modules/(?!cookie/)"],
  // A cap for hangs, not a speed check: suites start real servers (PGlite initdb, Prometheus, moto,
  // Postgres), which on two busy cores can take tens of seconds.
  testTimeout: 90000,
  // Integration suites start real servers; two workers match this machine's two cores.
  maxWorkers: 2,
};
