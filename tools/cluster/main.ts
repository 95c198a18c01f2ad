// npm run cluster:up | cluster:apply [synth-dir] | cluster:rbac | cluster:down | cluster:status —
// the local control plane for a person: up starts it with the Istio and Argo Rollouts CRDs; apply
// sends every Kubernetes object of the synth output (cdktf.out), stacks in deploy order, as the
// provider would, and says what the server pruned or changed; rbac asks the API server every cell
// of the duty matrix. apply and rbac work against any cluster (--kubeconfig/--context, or
// $KUBECONFIG); without either, against the local control plane. See docs/cluster.md.
import { readSynthOutput } from "../../policy-engine/gate";
import { loadEnvironment } from "../../config/load";
import { stackIds } from "../../stacks";
import { appliedProblems, applyCrds, sendObjects } from "./apply";
import {
  attachControlPlane,
  defaultClusterDir,
  kubectlFor,
  readClusterState,
  startControlPlane,
  stopClusterAt,
  type Kubectl,
} from "./control-plane";
import { dutyMatrixDrift } from "./duty-matrix";
import { stackObjects } from "./stack-objects";
import { CliInputError, parseCli, runCli, UsageError } from "../../lib/cli";
import { missingRolloutsController, startRolloutsController } from "./rollouts-controller";

const usage = `usage: node -r ./tools/register.js tools/cluster/main.ts <command>
  up                          start the local control plane (.cluster/), with the CRDs and the Rollouts controller
  apply [synth-dir]           send every Kubernetes object of synth-dir (default cdktf.out), stacks in deploy order
        [--dry-run]           server-side dry run: validated and defaulted by the API server, nothing stored
  rbac [--env staging]        ask every cell of the duty matrix (kubectl auth can-i) for the environment's groups
  down | status               stop the local control plane / say whether it runs
apply and rbac take --kubeconfig FILE and --context NAME (or $KUBECONFIG); without them, the local control plane.`;

/** The API server a command talks to: the named kubeconfig/context, $KUBECONFIG, else the local control plane. */
function target(values: { kubeconfig?: string; context?: string }): { kubectl: Kubectl; where: string } {
  if (values.kubeconfig || values.context || process.env.KUBECONFIG) {
    const where = values.context ?? "the current context";
    return {
      kubectl: kubectlFor(values.kubeconfig, values.context),
      where: `${where} of ${values.kubeconfig ?? process.env.KUBECONFIG ?? "~/.kube/config"}`,
    };
  }
  const state = readClusterState();
  if (!state)
    throw new CliInputError(
      "INPUT_UNREADABLE",
      "no --kubeconfig or --context, and the local control plane is not running (npm run cluster:up)",
    );
  const cluster = attachControlPlane(state);
  return { kubectl: (args, input) => cluster.kubectl(args, input), where: `the local control plane at ${state.server}` };
}

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseCli(
    argv,
    { "dry-run": { type: "boolean" }, env: { type: "string" }, kubeconfig: { type: "string" }, context: { type: "string" } },
    { positionals: true },
  );
  const [command, synthDir] = positionals;
  if (positionals.length > (command === "apply" ? 2 : 1)) throw new UsageError(`unexpected argument '${positionals.at(-1)}'`);
  const allowed: Record<string, string[]> = { apply: ["dry-run", "kubeconfig", "context"], rbac: ["env", "kubeconfig", "context"] };
  for (const flag of Object.keys(values))
    if (!(allowed[command] ?? []).includes(flag)) throw new UsageError(`--${flag} does not apply to '${command ?? ""}'`);
  switch (command) {
    case "up": {
      const running = readClusterState();
      if (running) {
        console.log(`cluster: already running at ${running.server}\nexport KUBECONFIG=${running.kubeconfig}`);
        return 0;
      }
      const started = performance.now();
      const cluster = await startControlPlane();
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      const crds = await applyCrds(cluster);
      console.log(
        `cluster: ready in ${seconds} s at ${cluster.state.server}, CRDs of ${crds.join(", ")} applied (state and logs in ${cluster.state.dir})`,
      );
      // The Argo Rollouts controller, when it is built (tools.sh argo-rollouts): Rollouts progress.
      const noController = missingRolloutsController();
      if (noController) console.log(`cluster: no Argo Rollouts controller (missing ${noController}): Rollouts will not progress`);
      else console.log(`cluster: Argo Rollouts controller running (metrics ${(await startRolloutsController(cluster)).metricsUrl})`);
      console.log(`export KUBECONFIG=${cluster.kubeconfig}`);
      return 0;
    }
    case "apply": {
      const { kubectl, where } = target(values);
      const dryRun = values["dry-run"] ?? false;
      const order = (id: string) => (stackIds.includes(id as never) ? stackIds.indexOf(id as never) : stackIds.length);
      const stacks = readSynthOutput(synthDir ?? "cdktf.out").sort(([a], [b]) => order(a) - order(b));
      let problems = 0;
      let sent = 0;
      for (const [id, tf] of stacks) {
        const { objects, templateErrors } = stackObjects(tf);
        for (const e of templateErrors) console.error(`${id}: not sent: ${e.message}`);
        const lost = appliedProblems(objects, await sendObjects({ kubectl }, objects, { typed: "apply", dryRun }));
        for (const p of lost) console.error(`${id}: ${p}`);
        problems += templateErrors.length + lost.length;
        sent += objects.length;
        console.log(
          `${id}: ${objects.length} objects ${dryRun ? "accepted by a server-side dry run" : "applied"}${lost.length ? `, ${lost.length} fields lost` : ""}`,
        );
      }
      console.log(`cluster: ${stacks.length} stacks, ${sent} objects, ${problems} problems (${where})`);
      return problems > 0 ? 1 : 0;
    }
    case "rbac": {
      const { kubectl, where } = target(values);
      const config = loadEnvironment(values.env ?? "staging");
      const result = await dutyMatrixDrift(kubectl, config);
      for (const line of result.drift) console.error(`rbac: drift: ${line}`);
      console.log(
        `rbac: ${result.cells} cells of ${config.name}'s duty matrix (${result.canI} also by kubectl auth can-i) and ${result.ruleLists} rule lists outside, ${result.drift.length} drift (${where})`,
      );
      return result.drift.length > 0 ? 1 : 0;
    }
    case "down":
      console.log((await stopClusterAt()) ? "cluster: stopped, state removed" : `cluster: nothing running (${defaultClusterDir})`);
      return 0;
    case "status": {
      const running = readClusterState();
      console.log(running ? `cluster: running at ${running.server}, pids ${JSON.stringify(running.pids)}` : "cluster: not running");
      return running ? 0 : 1;
    }
    default:
      throw new UsageError(command ? `unknown command '${command}'` : "a command is required");
  }
}

// The components it starts keep running after it returns: exit as soon as the command is done.
void runCli({ tool: "cluster", usage, main }).then((code) => process.exit(code));
