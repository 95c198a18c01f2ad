// The local control plane's PKI, made with openssl: a CA, the API server's serving certificate
// (loopback only), one client certificate per component, and the service-account signing key.
// ECDSA P-256 throughout: a full set takes well under a second.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** A client identity the API server authenticates by certificate (CN = user, O = groups). */
export interface ClientIdentity {
  file: string;
  user: string;
  groups?: string[];
}

/** Who talks to the API server. The admin is in system:masters, as kubeadm's admin.conf is. */
export const clientIdentities = {
  admin: { file: "admin", user: "maestro-admin", groups: ["system:masters"] },
  controllerManager: { file: "controller-manager", user: "system:kube-controller-manager" },
  scheduler: { file: "scheduler", user: "system:kube-scheduler" },
  // kwok plays every node's kubelet and writes node and pod status for all of them.
  kwok: { file: "kwok", user: "kwok-controller", groups: ["system:masters"] },
} as const satisfies Record<string, ClientIdentity>;

export interface Pki {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
  client(identity: ClientIdentity): { cert: string; key: string };
}

function openssl(args: string[], input?: string): void {
  execFileSync("openssl", args, { input, stdio: ["pipe", "ignore", "pipe"] });
}

const ecKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

function issue(dir: string, name: string, subject: string, extensions: string[]): void {
  const csr = join(dir, `${name}.csr`);
  openssl(["req", "-new", ...ecKey, "-keyout", join(dir, `${name}.key`), "-subj", subject, "-out", csr]);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, extensions.join("\n") + "\n");
  openssl(
    ["x509", "-req", "-in", csr, "-CA", join(dir, "ca.crt"), "-CAkey", join(dir, "ca.key"), "-CAcreateserial"].concat([
      "-days",
      "30",
      "-extfile",
      ext,
      "-out",
      join(dir, `${name}.crt`),
    ]),
  );
}

const subjectOf = (id: ClientIdentity) => [...(id.groups ?? []).map((g) => `/O=${g}`), `/CN=${id.user}`].join("");

/** Creates the PKI under `dir` (kept if it is already there) and returns its paths. */
export function ensurePki(dir: string): Pki {
  const pki: Pki = {
    dir,
    caCert: join(dir, "ca.crt"),
    caKey: join(dir, "ca.key"),
    serverCert: join(dir, "apiserver.crt"),
    serverKey: join(dir, "apiserver.key"),
    serviceAccountKey: join(dir, "service-account.key"),
    serviceAccountPub: join(dir, "service-account.pub"),
    client: (id) => ({ cert: join(dir, `${id.file}.crt`), key: join(dir, `${id.file}.key`) }),
  };
  if (existsSync(join(dir, "complete"))) return pki;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  openssl(["req", "-x509", "-new", ...ecKey, "-keyout", pki.caKey, "-out", pki.caCert, "-days", "30", "-subj", "/CN=maestro-local-ca"]);
  issue(dir, "apiserver", "/CN=kube-apiserver", [
    "basicConstraints=CA:FALSE",
    "keyUsage=digitalSignature,keyEncipherment",
    "extendedKeyUsage=serverAuth",
    // Loopback only; the kubernetes.default names are what in-cluster clients would ask for.
    "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:10.0.0.1",
  ]);
  for (const id of Object.values(clientIdentities)) {
    issue(dir, id.file, subjectOf(id), [
      "basicConstraints=CA:FALSE",
      "keyUsage=digitalSignature,keyEncipherment",
      "extendedKeyUsage=clientAuth",
    ]);
  }
  openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", pki.serviceAccountKey]);
  openssl(["pkey", "-in", pki.serviceAccountKey, "-pubout", "-out", pki.serviceAccountPub]);
  writeFileSync(join(dir, "complete"), "");
  return pki;
}

/** A kubeconfig for one identity against `server`. */
export function kubeconfigFor(pki: Pki, server: string, id: ClientIdentity): string {
  const { cert, key } = pki.client(id);
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "maestro-local", cluster: { server, "certificate-authority": pki.caCert } }],
    users: [{ name: id.user, user: { "client-certificate": cert, "client-key": key } }],
    contexts: [{ name: "maestro-local", context: { cluster: "maestro-local", user: id.user } }],
    "current-context": "maestro-local",
  });
}
