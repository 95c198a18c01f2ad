import { Construct } from "constructs";
import { Manifest } from "@cdktf/provider-kubernetes/lib/manifest";
import type { ITerraformDependable } from "cdktf";
import type { KubernetesProvider } from "@cdktf/provider-kubernetes/lib/provider";
import { validateManifest, type ManifestObject } from "./schemas";

export interface K8sManifestProps {
  /** The kubernetes provider that applies the object (the stack's). */
  readonly kubernetes: KubernetesProvider;
  /** The object; validated against its API schema when the construct is built. */
  readonly manifest: ManifestObject;
  /** Resources that must exist first (CRDs, namespaces). @default none */
  readonly dependsOn?: ITerraformDependable[];
}

/** A Kubernetes object applied by the kubernetes provider, refused at synth if it is invalid. */
export class K8sManifest extends Construct {
  readonly resource: Manifest;
  readonly object: ManifestObject;

  constructor(scope: Construct, id: string, props: K8sManifestProps) {
    super(scope, id);
    validateManifest(props.manifest);
    this.object = props.manifest;
    this.resource = new Manifest(this, "resource", { provider: props.kubernetes, manifest: props.manifest, dependsOn: props.dependsOn });
  }
}
