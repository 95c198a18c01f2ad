// The import boundaries of the repository (docs/foundation.md, "Layers"), checked by `npm run lint`
// with dependency-cruiser over the TypeScript sources. A violation names the rule, the importer and
// the imported module; fix the import (or move the code to the layer both may use), never the rule.
/** @type {import('dependency-cruiser').IConfiguration} */
const infrastructure = "^(config|constructs|stacks)/|^main\\.ts$";
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "An import cycle: split the shared part into a module both sides import.",
      from: {},
      to: { circular: true },
    },
    {
      name: "infrastructure-not-service",
      severity: "error",
      comment: "Config, constructs, stacks and main.ts never import the service (app/): share through contracts/, lib/ or policy-engine/.",
      from: { path: infrastructure },
      to: { path: "^app/" },
    },
    {
      name: "infrastructure-not-tools-or-harness",
      severity: "error",
      comment: "Synth must not depend on CI tools, the bench or the test harness.",
      from: { path: infrastructure },
      to: { path: "^(tools|harness|bench)/" },
    },
    {
      name: "service-not-infrastructure",
      severity: "error",
      comment:
        "The service (app/) never imports infrastructure, tools, the harness or the bench: its image ships app/, contracts/, lib/ and policy-engine/ only.",
      from: { path: "^app/" },
      to: { path: `${infrastructure}|^(tools|harness|bench)/` },
    },
    {
      name: "shared-layers-stand-alone",
      severity: "error",
      comment: "contracts/, lib/ and policy-engine/ are shared by everyone, so they import none of the layers above them.",
      from: { path: "^(contracts|lib|policy-engine)/" },
      to: { path: `${infrastructure}|^(app|tools|harness|bench)/` },
    },
    {
      name: "contracts-and-lib-below-policy-engine",
      severity: "error",
      comment: "contracts/ and lib/ are the bottom layer: they do not import the policy engine.",
      from: { path: "^(contracts|lib)/" },
      to: { path: "^policy-engine/" },
    },
    {
      name: "lib-is-the-bottom",
      severity: "error",
      comment: "lib/ imports no other layer of the repository.",
      from: { path: "^lib/" },
      to: { path: "^contracts/" },
    },
    {
      name: "only-tests-import-tests",
      severity: "error",
      comment: "__tests__/ is for jest only: what tools, the bench or verify:ga share with tests lives in harness/.",
      from: { pathNot: "^__tests__/" },
      to: { path: "^__tests__/" },
    },
    {
      name: "harness-not-bench-or-tools",
      severity: "error",
      comment: "harness/ serves tests, the bench and verify:ga; it imports none of them.",
      from: { path: "^harness/" },
      to: { path: "^(tools|bench)/" },
    },
    {
      name: "not-to-unresolvable",
      severity: "error",
      comment: "An import that does not resolve.",
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(node_modules|cdktf\\.out|\\.tools|build|app/ui/dist)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["import", "require", "node", "default", "types"] },
  },
};
