// lib/net.ts isLoopbackHost: where the service and its CLIs allow plain http. All of 127.0.0.0/8
// is this machine (the host kubelet's pods live at 127.R.x.y); anything else is not.
import { isLoopbackHost } from "../../lib/net";

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
