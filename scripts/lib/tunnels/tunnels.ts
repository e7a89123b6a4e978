// The port-forward tunnels as data: which Service each component is reached through, the exact
// kubectl argv, the reconnect back-off, and what kubectl's error means. Pure; no process runs here.
import { InputError, PrerequisiteError, UserError } from '../core/errors.ts';
import type { App } from '../app/declaration.ts';
import { serviceName } from '../core/names.ts';

export type Tunnel = {
  component: string;
  service: string;
  localPort: number;
  remotePort: number;
  /** GET through the tunnel that must answer 200 before it counts as up. */
  healthPath: string;
};


/** The exact kubectl argv for one tunnel; every call names its context and namespace. */
export function portForwardArgs(context: string, namespace: string, t: Tunnel): string[] {
  return ['--context', context, '--namespace', namespace, 'port-forward', `service/${t.service}`, `${t.localPort}:${t.remotePort}`];
}

/** Reconnect delays: 0.5s, 1s, 2s, 4s, then 8s for as long as it takes. */
export function nextBackoff(previousMs?: number): number {
  return previousMs === undefined ? 500 : Math.min(previousMs * 2, 8000);
}

/** One tunnel per component given a local port: to its Service port, checked on its readiness path. */
export function planTunnels(release: string, app: App, ports: Record<string, number>): Tunnel[] {
  return Object.entries(ports).map(([component, localPort]) => {
    const c = app.components[component];
    return { component, service: serviceName(release, component), localPort, remotePort: c?.port ?? localPort, healthPath: c?.probes?.readiness ?? '/' };
  });
}

/** What kubectl's last error line means before the tunnels were ever up: worth retrying, or a problem to report. */
export type KubectlVerdict = { retry: true } | { retry: false; error: UserError };

export function classifyKubectlError(line: string, t: Tunnel, context: string, namespace: string): KubectlVerdict {
  if (/context .* does not exist|context was not found/i.test(line)) {
    return {
      retry: false,
      error: new PrerequisiteError(`kube context "${context}" does not exist`, 'Run setup first, or name an existing context with --context (kubectl config get-contexts lists them).'),
    };
  }
  if (/NotFound|services? ".*" not found/i.test(line)) {
    return {
      retry: false,
      error: new UserError(
        `service/${t.service} was not found in namespace ${namespace} (context ${context})`,
        'Run setup first, or check --namespace / TASKFLOW_NAMESPACE and TASKFLOW_RELEASE.',
      ),
    };
  }
  if (/unable to listen|address already in use/i.test(line)) {
    return { retry: false, error: new InputError(`port ${t.localPort} (${t.component}) was taken before kubectl could listen on it`, 'Rerun, or pass --auto-port.') };
  }
  if (/connection to the server .* was refused|no such host|Unable to connect to the server/i.test(line)) {
    return { retry: false, error: new PrerequisiteError(`the cluster of context "${context}" is not answering: ${line}`, 'Start it with setup, then rerun port-forward.') };
  }
  return { retry: true };
}
