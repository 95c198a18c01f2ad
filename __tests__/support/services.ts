/**
 * `describe` for suites that need a real service or binary. Locally, a missing one skips the
 * suite with the reason; under CI=true it fails, so CI never goes green without the real peer.
 */
export function describeWithService(title: string, missing: string | undefined, body: () => void): void {
  if (!missing) {
    describe(title, body);
    return;
  }
  if (process.env.CI === "true") {
    describe(title, () => {
      test(`needs ${missing}`, () => {
        throw new Error(`${title}: ${missing} is required under CI=true (run tools/install/tools.sh and .ci/run's apt step)`);
      });
    });
    return;
  }
  describe.skip(`${title} (skipped: ${missing} not available)`, body);
}
