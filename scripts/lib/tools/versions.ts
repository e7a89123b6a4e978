// Version parsing and minimum-version checks shared by the tool wrappers.
import { PrerequisiteError } from '../core/errors.ts';

export type Version = { major: number; minor: number; patch: number };

/** Finds the first "1.2.3" (with or without a leading v) in a tool's output. */
export function parseVersion(text: string): Version | undefined {
  const m = /v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3] ?? 0) };
}

export function formatVersion(v: Version): string {
  return `${v.major}.${v.minor}.${v.patch}`;
}

export function atLeast(v: Version, min: Version): boolean {
  if (v.major !== min.major) return v.major > min.major;
  if (v.minor !== min.minor) return v.minor > min.minor;
  return v.patch >= min.patch;
}

/** Install pages named in every "missing or too old" message. */
export const installHints: Record<string, string> = {
  docker: 'Install Docker: https://docs.docker.com/get-docker/',
  minikube: 'Install minikube: https://minikube.sigs.k8s.io/docs/start/',
  kind: 'Install kind: https://kind.sigs.k8s.io/docs/user/quick-start/#installation',
  kubectl: 'Install kubectl: https://kubernetes.io/docs/tasks/tools/',
  helm: 'Install Helm 3.12+ or 4 (https://helm.sh/docs/intro/install/), or point TASKFLOW_HELM at one, and rerun.',
};

export const minimumVersions: Record<string, Version> = {
  docker: { major: 20, minor: 10, patch: 0 },
  minikube: { major: 1, minor: 32, patch: 0 },
  kind: { major: 0, minor: 20, patch: 0 },
  kubectl: { major: 1, minor: 27, patch: 0 },
  helm: { major: 3, minor: 12, patch: 0 },
};

/** Throws a PrerequisiteError naming the tool, the version found, the minimum and where to get it. */
export function requireVersion(tool: string, found: Version | undefined, raw: string): Version {
  const min = minimumVersions[tool];
  if (!found) throw new PrerequisiteError(`could not read the version of ${tool} from: ${raw.trim().slice(0, 200) || '(no output)'}`, installHints[tool] ?? '');
  if (min && !atLeast(found, min)) {
    throw new PrerequisiteError(
      `${tool} ${formatVersion(found)} is too old: taskflow needs ${tool} ${formatVersion(min)} or newer`,
      `Upgrade ${tool}. ${installHints[tool] ?? ''}`.trim(),
    );
  }
  return found;
}
