// npm run cluster:up | cluster:down | cluster:status — the local control plane for a person.
import { defaultClusterDir, readClusterState, startControlPlane, stopClusterAt } from "./control-plane";

const usage = "usage: node -r ./tools/register.js tools/cluster/main.ts up|down|status";

async function main(command: string | undefined): Promise<number> {
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
      console.log(`cluster: ready in ${seconds} s at ${cluster.state.server} (state and logs in ${cluster.state.dir})`);
      console.log(`export KUBECONFIG=${cluster.kubeconfig}`);
      return 0;
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
      console.error(command ? `unknown command: ${command}\n${usage}` : usage);
      return 2;
  }
}

main(process.argv[2]).then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(err.message);
    process.exit(1);
  },
);
