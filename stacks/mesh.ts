import { Construct } from "constructs";
import { MaestroStack, type MaestroStackProps } from "./base";

/** The mesh stack (filled in by its issue). */
export class MeshStack extends MaestroStack {
  constructor(scope: Construct, id: string, props: MaestroStackProps) {
    super(scope, id, props);
    this.output("environment", this.config.name, "Environment this stack was synthesized for");
  }
}
