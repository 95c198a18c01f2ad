import { Construct } from "constructs";
import { MaestroStack, type MaestroStackProps } from "./base";

/** The audit stack (filled in by its issue). */
export class AuditStack extends MaestroStack {
  constructor(scope: Construct, id: string, props: MaestroStackProps) {
    super(scope, id, props);
    this.output("environment", this.config.name, "Environment this stack was synthesized for");
  }
}
