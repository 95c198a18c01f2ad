// Annotation keys the policies and the runtime agree on. Import these; never spell them out.

/**
 * Set to "true" on every workload of the app (pod template metadata and the workload object):
 * the pod's compliance service must load only a policy bundle whose signature verifies
 * (ALLOW_UNSIGNED_POLICY=false). Rule `MAESTRO-K8S-003` denies a Rollout, or any workload of the app stack, without it.
 */
export const bundleSignatureRequiredAnnotation = "policy.maestro.io/bundle-signature-required";

/** The only value the policies accept for bundleSignatureRequiredAnnotation. */
export const bundleSignatureRequiredValue = "true";
