import type { App, TerraformStack } from "cdktf";
import type { EnvironmentConfig } from "../config/schema";
import { PlatformStack } from "./platform";
import { MeshStack } from "./mesh";
import { AuditStack } from "./audit";
import { BackupStack } from "./backup";
import { GatewayStack } from "./gateway";
import { AppStack } from "./app";

/** Stack ids in deploy order. */
export const stackIds = ["platform", "mesh", "audit", "backup", "gateway", "app"] as const;
export type StackId = (typeof stackIds)[number];

export interface MaestroStacks {
  platform: PlatformStack;
  mesh: MeshStack;
  audit: AuditStack;
  backup: BackupStack;
  gateway: GatewayStack;
  app: AppStack;
}

/**
 * Builds every stack of one environment into the app. Stacks that create CRDs or namespaces come
 * before the stacks that use them, so `cdktf deploy '*'` works on an empty cluster.
 * Call `await loadManifestSchemas()` first.
 */
export function buildStacks(app: App, config: EnvironmentConfig): MaestroStacks {
  const props = { config };
  const platform = new PlatformStack(app, "platform", props);
  const mesh = new MeshStack(app, "mesh", props);
  const audit = new AuditStack(app, "audit", props);
  const backup = new BackupStack(app, "backup", props);
  const gateway = new GatewayStack(app, "gateway", props);
  const appStack = new AppStack(app, "app", { ...props, serviceRole: audit.serviceRole });

  const dependsOn: Array<[TerraformStack, TerraformStack[]]> = [
    [mesh, [platform]],
    // The backup stack attaches a read policy to the audit stack's service role.
    [backup, [platform, mesh, audit]],
    [gateway, [platform, mesh]],
    [appStack, [platform, mesh, audit, backup, gateway]],
  ];
  for (const [stack, deps] of dependsOn) for (const dep of deps) stack.addDependency(dep);
  return { platform, mesh, audit, backup, gateway, app: appStack };
}
