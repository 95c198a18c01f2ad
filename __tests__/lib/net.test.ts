// lib/net.ts. isLoopbackHost: where the service and its CLIs allow plain http. All of 127.0.0.0/8
// is this machine (the host kubelet's pods live at 127.R.x.y); anything else is not. freePort and
// waitFor: the ports the harnesses hand to child processes, and the waits for them to serve.
import { createServer } from "node:net";
import { ephemeralLow, freePort, isLoopbackHost, WaitAbandoned, waitFor } from "../../lib/net";

test.each(["127.0.0.1", "127.23.0.4", "127.255.255.254", "localhost", "[::1]"])("%s is loopback", (host) =>
  expect(isLoopbackHost(host)).toBe(true),
);

test.each(["10.0.0.1", "128.0.0.1", "127.0.0.1.example.com", "127.example", "localhost.example", "[::2]", "0.0.0.0", ""])(
  "%s is not",
  (host) => expect(isLoopbackHost(host)).toBe(false),
);

test("what a URL parser gives for each is judged the same", () => {
  expect(isLoopbackHost(new URL("http://127.9.0.3:8080/api").hostname)).toBe(true);
  expect(isLoopbackHost(new URL("http://[::1]:8080/").hostname)).toBe(true);
  expect(isLoopbackHost(new URL("http://127.0.0.1.nip.io/").hostname)).toBe(false);
});

describe("freePort: ports a child process can bind, away from the ones outgoing connections take", () => {
  test("below the kernel's ephemeral range, bindable, and never the same one twice in a process", async () => {
    const ports = await Promise.all(Array.from({ length: 40 }, () => freePort()));
    expect(new Set(ports).size).toBe(ports.length);
    for (const port of ports) expect(port).toBeLessThan(ephemeralLow());
    const server = createServer();
    await new Promise<void>((r) => server.listen(ports[0], "127.0.0.1", r));
    server.close();
  });

  test("the ephemeral range's low end is read from the kernel's setting, with 32768 where it is unreadable", () => {
    expect(ephemeralLow(() => "32768\t60999\n")).toBe(32768);
    expect(ephemeralLow(() => "49152 65535")).toBe(49152);
    expect(ephemeralLow(() => "garbage")).toBe(32768);
    expect(
      ephemeralLow(() => {
        throw new Error("ENOENT");
      }),
    ).toBe(32768);
  });
});

describe("waitFor", () => {
  test("a probe that throws WaitAbandoned ends the wait at once, with its reason", async () => {
    const started = Date.now();
    let calls = 0;
    await expect(
      waitFor(
        "the API server",
        async () => {
          if (++calls === 3) throw new WaitAbandoned("kube-apiserver exited (exit code 1)");
          return false;
        },
        10_000,
        10,
      ),
    ).rejects.toThrow("gave up waiting for the API server: kube-apiserver exited (exit code 1)");
    expect(calls).toBe(3);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  test("other errors are retried until the deadline, and the last one is named", async () => {
    await expect(
      waitFor(
        "etcd",
        async () => {
          throw new Error("ECONNREFUSED");
        },
        200,
        20,
      ),
    ).rejects.toThrow(/timed out after 200 ms waiting for etcd: ECONNREFUSED/);
  });
});
