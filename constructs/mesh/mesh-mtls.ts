import { Construct } from "constructs";
import type { KubernetesProvider } from "@cdktf/provider-kubernetes/lib/provider";
import type { MeshService } from "../../config/schema";
import { K8sManifest } from "../k8s/manifest";
import type { ManifestObject } from "../k8s/schemas";
import { spiffePrincipal, workloadLabels } from "./identity";
import { dnsLabelPattern, dnsLabelRule } from "../../contracts/names";
import { MaestroError } from "../../lib/errors";

const httpMethods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;
export type HttpMethod = (typeof httpMethods)[number];

/** Labels on every object this construct makes, so policies and operators can find them. */
export const meshObjectLabels = { "app.kubernetes.io/part-of": "maestro", "app.kubernetes.io/component": "zero-trust-mesh" } as const;

/** Annotation that marks a deliberate weakening, naming the option that asked for it. */
export const weakenedByAnnotation = "maestro.io/weakened-by";

export interface MeshMtlsProps {
  /** The kubernetes provider that applies every object (the stack's). */
  readonly kubernetes: KubernetesProvider;
  /** Istio root namespace (meshConfig.rootNamespace): the mesh-wide PeerAuthentication and DestinationRule live here. */
  readonly rootNamespace: string;
  /** SPIFFE trust domain that ALLOW principals are spelt with (meshConfig.trustDomain). @default "cluster.local" */
  readonly trustDomain?: string;
  /** The nodes of the service graph: every `allow` names two of these. */
  readonly services: readonly MeshService[];
  /** Namespaces that get a deny-by-default AuthorizationPolicy. @default the namespaces of `services` */
  readonly protectedNamespaces?: readonly string[];
  /**
   * WEAKENING: namespaces whose workloads also accept plaintext (a namespace PeerAuthentication
   * PERMISSIVE, annotated `maestro.io/weakened-by`); the policies report each one.
   * @default [] (STRICT everywhere)
   */
  readonly permissiveNamespaces?: readonly string[];
}

export interface AllowOptions {
  /** Ports of the target the source may call. @default every port of the target service */
  readonly ports?: readonly number[];
  /** HTTP methods the source may use. @default any method (also the only choice for TCP services) */
  readonly methods?: readonly HttpMethod[];
  /** HTTP paths, in Istio's syntax (exact, prefix `/api/*`, suffix `*.json`). @default any path */
  readonly paths?: readonly string[];
}

/** A prop of MeshMtls or an `allow` call is invalid; the message names it and what is allowed. */
export class MeshPropsError extends MaestroError<"MESH_PROPS_INVALID"> {
  constructor(message: string) {
    super("MESH_PROPS_INVALID", message);
  }
}

/**
 * Zero-trust service mesh: STRICT mTLS mesh-wide, Istio mTLS originated to every `*.local` host,
 * deny-by-default in every protected namespace, and ALLOW policies that name SPIFFE identities.
 * `allow(from, to)` is the only way in.
 */
export class MeshMtls extends Construct {
  readonly rootNamespace: string;
  readonly trustDomain: string;
  readonly protectedNamespaces: readonly string[];
  readonly peerAuthentication: K8sManifest;
  readonly destinationRule: K8sManifest;
  readonly denyByDefault: Readonly<Record<string, K8sManifest>>;
  readonly permissive: Readonly<Record<string, K8sManifest>>;
  private readonly services = new Map<string, MeshService>();
  private readonly allowed = new Map<string, K8sManifest>();
  private readonly kubernetes: KubernetesProvider;

  constructor(scope: Construct, id: string, props: MeshMtlsProps) {
    super(scope, id);
    this.kubernetes = props.kubernetes;
    this.rootNamespace = props.rootNamespace;
    this.trustDomain = props.trustDomain ?? "cluster.local";
    for (const service of props.services) {
      if (this.services.has(service.name)) throw new MeshPropsError(`services: '${service.name}' is listed twice; names must be unique`);
      this.services.set(service.name, service);
    }
    this.protectedNamespaces = [...new Set(props.protectedNamespaces ?? props.services.map((s) => s.namespace))].sort();
    const protectedSet = new Set(this.protectedNamespaces);
    if (protectedSet.has(this.rootNamespace)) {
      // An empty ALLOW policy in the root namespace applies mesh-wide, not to one namespace.
      throw new MeshPropsError(`protectedNamespaces: must not contain the root namespace '${this.rootNamespace}'`);
    }
    for (const service of props.services) {
      if (!protectedSet.has(service.namespace)) {
        throw new MeshPropsError(
          `services: '${service.name}' is in namespace '${service.namespace}', which is not protected (protectedNamespaces: ${this.protectedNamespaces.join(", ")})`,
        );
      }
    }

    this.peerAuthentication = this.manifest("peer-authentication-strict", {
      apiVersion: "security.istio.io/v1",
      kind: "PeerAuthentication",
      // No selector, in the root namespace: applies to every workload of the mesh.
      metadata: { name: "default", namespace: this.rootNamespace, labels: { ...meshObjectLabels } },
      spec: { mtls: { mode: "STRICT" } },
    });

    this.destinationRule = this.manifest("destination-rule-istio-mutual", {
      apiVersion: "networking.istio.io/v1",
      kind: "DestinationRule",
      metadata: { name: "default", namespace: this.rootNamespace, labels: { ...meshObjectLabels } },
      spec: { host: "*.local", trafficPolicy: { tls: { mode: "ISTIO_MUTUAL" } } },
    });

    const denyByDefault: Record<string, K8sManifest> = {};
    for (const namespace of this.protectedNamespaces) {
      // An ALLOW policy with no rules matches nothing: every request is denied unless another
      // ALLOW policy for the workload matches it.
      denyByDefault[namespace] = this.manifest(`deny-by-default-${namespace}`, {
        apiVersion: "security.istio.io/v1",
        kind: "AuthorizationPolicy",
        metadata: { name: "deny-by-default", namespace, labels: { ...meshObjectLabels } },
        spec: {},
      });
    }
    this.denyByDefault = denyByDefault;

    const permissive: Record<string, K8sManifest> = {};
    (props.permissiveNamespaces ?? []).forEach((namespace, i) => {
      if (!protectedSet.has(namespace)) {
        throw new MeshPropsError(
          `permissiveNamespaces[${i}]: '${namespace}' is not a protected mesh namespace (${this.protectedNamespaces.join(", ")})`,
        );
      }
      permissive[namespace] = this.manifest(`peer-authentication-permissive-${namespace}`, {
        apiVersion: "security.istio.io/v1",
        kind: "PeerAuthentication",
        metadata: {
          name: "default",
          namespace,
          labels: { ...meshObjectLabels },
          annotations: { [weakenedByAnnotation]: "mesh.permissiveNamespaces" },
        },
        spec: { mtls: { mode: "PERMISSIVE" } },
      });
    });
    this.permissive = permissive;
  }

  /** The service of the graph with this name; throws naming the known ones. */
  service(name: string): MeshService {
    const service = this.services.get(name);
    if (!service) throw new MeshPropsError(`unknown service '${name}' (known: ${[...this.services.keys()].join(", ")})`);
    return service;
  }

  /**
   * Lets `from`'s workload identity call `to` on the given ports, methods and paths: an ALLOW
   * AuthorizationPolicy on `to`'s workloads whose only source is `from`'s SPIFFE principal.
   */
  allow(from: MeshService, to: MeshService, options: AllowOptions = {}): K8sManifest {
    const where = `allow(${from?.name ?? "?"} → ${to?.name ?? "?"})`;
    if (!from) throw new MeshPropsError(`${where}: from: a source service is required; an ALLOW rule without a source would let anyone in`);
    for (const [side, service] of [
      ["from", from],
      ["to", to],
    ] as const) {
      if (!service || this.services.get(service.name) !== service) {
        throw new MeshPropsError(`${where}: ${side}: not a service of this mesh (known: ${[...this.services.keys()].join(", ")})`);
      }
    }
    const key = `${from.name}->${to.name}`;
    if (this.allowed.has(key)) throw new MeshPropsError(`${where}: already allowed; merge the two rules into one`);

    const ports = options.ports ?? to.ports;
    if (ports.length === 0)
      throw new MeshPropsError(`${where}: ports: must name at least one port of '${to.name}' (${to.ports.join(", ")})`);
    for (const port of ports) {
      if (!to.ports.includes(port))
        throw new MeshPropsError(`${where}: ports: ${port} is not a port of '${to.name}' (${to.ports.join(", ")})`);
    }
    for (const method of options.methods ?? []) {
      if (!(httpMethods as readonly string[]).includes(method)) {
        throw new MeshPropsError(`${where}: methods: '${method}' is not one of ${httpMethods.join(", ")}`);
      }
    }
    for (const path of options.paths ?? []) {
      if (!/^(\/\S*|\*\S+)$/.test(path)) throw new MeshPropsError(`${where}: paths: '${path}' must start with '/' (or be a '*suffix')`);
    }
    if (options.methods?.length === 0 || options.paths?.length === 0) {
      throw new MeshPropsError(`${where}: methods/paths: leave them out to allow any, an empty list allows nothing`);
    }

    const operation: Record<string, string[]> = { ports: ports.map(String) };
    if (options.methods) operation.methods = [...options.methods];
    if (options.paths) operation.paths = [...options.paths];
    const policy = this.manifest(`allow-${from.name}-to-${to.name}`, {
      apiVersion: "security.istio.io/v1",
      kind: "AuthorizationPolicy",
      metadata: { name: `allow-${from.name}-to-${to.name}`, namespace: to.namespace, labels: { ...meshObjectLabels } },
      spec: {
        selector: { matchLabels: workloadLabels(to) },
        action: "ALLOW",
        rules: [
          {
            from: [{ source: { principals: [spiffePrincipal(this.trustDomain, from.namespace, from.serviceAccount)] } }],
            to: [{ operation }],
          },
        ],
      },
    });
    this.allowed.set(key, policy);
    return policy;
  }

  /**
   * Lets workloads reach external HTTPS hosts, which meshConfig's REGISTRY_ONLY egress refuses
   * otherwise: a ServiceEntry in the root namespace, exported mesh-wide. Exact hosts resolve by
   * DNS; a `*.` wildcard host is passed through by SNI.
   */
  allowEgress(name: string, hosts: readonly string[], port = 443): K8sManifest {
    const where = `allowEgress(${name})`;
    if (!dnsLabelPattern.test(name)) throw new MeshPropsError(`${where}: name: ${dnsLabelRule}`);
    if (hosts.length === 0) throw new MeshPropsError(`${where}: hosts: name at least one host`);
    for (const host of hosts) {
      if (!/^(\*\.)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(host) || host.endsWith(".local")) {
        throw new MeshPropsError(`${where}: hosts: '${host}' must be an external DNS name (optionally '*.'-prefixed), not a mesh host`);
      }
    }
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new MeshPropsError(`${where}: port: must be 1-65535 (got ${port})`);
    const wildcard = hosts.some((h) => h.startsWith("*."));
    return this.manifest(`egress-${name}`, {
      apiVersion: "networking.istio.io/v1",
      kind: "ServiceEntry",
      metadata: { name: `egress-${name}`, namespace: this.rootNamespace, labels: { ...meshObjectLabels } },
      spec: {
        hosts: [...hosts],
        exportTo: ["*"],
        location: "MESH_EXTERNAL",
        resolution: wildcard ? "NONE" : "DNS",
        ports: [{ number: port, name: "tls", protocol: "TLS" }],
      },
    });
  }

  private manifest(id: string, manifest: ManifestObject): K8sManifest {
    return new K8sManifest(this, id, { kubernetes: this.kubernetes, manifest });
  }
}
