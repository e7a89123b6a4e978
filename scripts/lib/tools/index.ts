// One typed wrapper per CLI, built together on one Exec so every command shares its dry-run,
// verbosity and history.
import type { Exec } from '../core/exec.ts';
import { Docker } from './docker.ts';
import { Helm, HelmRelease } from './helm.ts';
import { Kind } from './kind.ts';
import { Kubectl } from './kubectl.ts';
import { Minikube } from './minikube.ts';

export type Tools = { exec: Exec; docker: Docker; kubectl: Kubectl; helm: Helm; release: HelmRelease; minikube: Minikube; kind: Kind };

export function makeTools(exec: Exec, helmBin = 'helm'): Tools {
  return {
    exec,
    docker: new Docker(exec),
    kubectl: new Kubectl(exec),
    helm: new Helm(exec, helmBin),
    release: new HelmRelease(exec, helmBin),
    minikube: new Minikube(exec),
    kind: new Kind(exec),
  };
}
