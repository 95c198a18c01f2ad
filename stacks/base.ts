import { Construct } from "constructs";
import { LocalBackend, S3Backend, TerraformOutput, TerraformStack } from "cdktf";
import { KubernetesProvider } from "@cdktf/provider-kubernetes/lib/provider";
import { HelmProvider } from "@cdktf/provider-helm/lib/provider";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import type { EnvironmentConfig } from "../config/schema";
import nodeUtil = require("node:util");

// cdktf 0.21, its last release, checks every output with util.isArray, which Node 24 deprecates at
// run time (DEP0044: a warning on each synth); its documented equivalent takes its place.
nodeUtil.isArray = Array.isArray;

export interface MaestroStackProps {
  readonly config: EnvironmentConfig;
}

const kubeconfigPath = "~/.kube/config";

/**
 * A stack of this project: its state backend comes from config, and its providers are created
 * on first use, so a stack carries only the providers it needs.
 */
export class MaestroStack extends TerraformStack {
  readonly config: EnvironmentConfig;
  private kubernetesProvider?: KubernetesProvider;
  private helmProvider?: HelmProvider;
  private awsProvider?: AwsProvider;
  private readonly regionalProviders = new Map<string, AwsProvider>();

  constructor(scope: Construct, id: string, props: MaestroStackProps) {
    super(scope, id);
    this.config = props.config;
    const backend = props.config.stateBackend;
    if (backend.kind === "s3") {
      new S3Backend(this, { bucket: backend.bucket, key: `${backend.keyPrefix}/${id}.tfstate`, region: backend.region, encrypt: true });
      // S3-native state locking (Terraform >= 1.10); cdktf 0.21's S3Backend has no typed field for it.
      if (backend.useLockfile) this.addOverride("terraform.backend.s3.use_lockfile", true);
    } else {
      // Relative to cdktf.out/stacks/<id>, so state lands in <repo>/<directory>/<id>.tfstate.
      new LocalBackend(this, { path: `../../../${backend.directory}/${id}.tfstate` });
    }
  }

  /** The kubernetes provider for this environment's cluster context. */
  get kubernetes(): KubernetesProvider {
    this.kubernetesProvider ??= new KubernetesProvider(this, "kubernetes", {
      configPath: kubeconfigPath,
      configContext: this.config.cluster.context,
    });
    return this.kubernetesProvider;
  }

  /** The helm provider for this environment's cluster context. */
  get helm(): HelmProvider {
    this.helmProvider ??= new HelmProvider(this, "helm", {
      kubernetes: { configPath: kubeconfigPath, configContext: this.config.cluster.context },
    });
    return this.helmProvider;
  }

  /** The AWS provider, pinned to this environment's account and region, tagging everything. */
  get aws(): AwsProvider {
    this.awsProvider ??= new AwsProvider(this, "aws", {
      region: this.config.region,
      allowedAccountIds: [this.config.accountId],
      defaultTags: [{ tags: { project: "maestro", environment: this.config.name, "managed-by": "cdktf" } }],
    });
    return this.awsProvider;
  }

  /** An AWS provider for a second region of the same account (the DR replicas), aliased by region. */
  awsIn(region: string): AwsProvider {
    if (region === this.config.region) return this.aws;
    let provider = this.regionalProviders.get(region);
    if (!provider) {
      provider = new AwsProvider(this, `aws-${region}`, {
        alias: region.replace(/-/g, "_"),
        region,
        allowedAccountIds: [this.config.accountId],
        defaultTags: [{ tags: { project: "maestro", environment: this.config.name, "managed-by": "cdktf" } }],
      });
      this.regionalProviders.set(region, provider);
    }
    return provider;
  }

  /** Declares an output that tools (DR drills, verify scripts) read from `cdktf output`. */
  output(name: string, value: string | number | boolean | string[], description: string): TerraformOutput {
    return new TerraformOutput(this, name, { value, description });
  }
}
