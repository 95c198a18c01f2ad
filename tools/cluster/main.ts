// npm run cluster:up | cluster:apply [synth-dir] | cluster:down | cluster:status — the local
// control plane for a person: up starts it with the Istio and Argo Rollouts CRDs; apply sends every
// Kubernetes object of the synth output (cdktf.out), stacks in deploy order, as the provider would.
import { readSynthOutput } from "../../policy-engine/gate";
import { stackIds } from "../../stacks";
import { applyCrds, sendObjects } from "./apply";
import { attachControlPlane, defaultClusterDir, readClusterState, startControlPlane, stopClusterAt } from "./control-plane";
import { stackObjects } from "./stack-objects";
import { CliInputError, parseCli, runCli, UsageError } from "../../lib/cli";
import { missingRolloutsController, startRolloutsController } from "./rollouts-controller";

const usage = "usage: node -r ./tools/register.js tools/cluster/main.ts up|apply [synth-dir]|down|status";

async function main(argv: string[]): Promise<number> {
  const { positionals } = parseCli(argv, {}, { positionals: true });
  const [command, synthDir] = positionals;
  if (positionals.length > (command === "apply" ? 2 : 1)) throw new UsageError(`unexpected argument '${positionals.at(-1)}'`);
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
      const state = readClusterState();
      if (!state) throw new CliInputError("INPUT_UNREADABLE", "not running (npm run cluster:up first)");
      const cluster = attachControlPlane(state);
      const order = (id: string) => (stackIds.includes(id as never) ? stackIds.indexOf(id as never) : stackIds.length);
      const stacks = readSynthOutput(synthDir ?? "cdktf.out").sort(([a], [b]) => order(a) - order(b));
      let failed = false;
      for (const [id, tf] of stacks) {
        const { objects, templateErrors } = stackObjects(tf);
        for (const e of templateErrors) console.error(`${id}: not sent: ${e.message}`);
        failed ||= templateErrors.length > 0;
        const stored = await sendObjects(cluster, objects, { typed: "apply" });
        console.log(`${id}: ${stored.size} objects applied`);
      }
      return failed ? 1 : 0;
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
