// The values setup adds on top of the profile file: the declared components (under the profile's
// operational settings), the images, the access URLs and the secrets (sent on stdin only).
import type { App } from '../app/declaration.ts';
import { CHART_SECRET_KEYS } from '../app/chart-files.ts';
import { componentValues } from '../app/components.ts';
import type { Settings } from '../app/config.ts';
import type { ImageRefs } from '../images/tag.ts';
import { mergeValues, type Values } from '../app/values.ts';

export type ReleaseInputs = {
  settings: Settings;
  /** The app's components as declared, and the values of its own settings. */
  app: App;
  appValues: Record<string, string>;
  images: ImageRefs;
  /** Origins a browser reaches the app at (port-forward, ingress), for CORS and auth. */
  origins: string[];
  chartHash: string;
  /** The chart's values.yaml under the profile file: what the generated values are laid over. */
  chartValues: Values;
  /** The profile file alone (values-dev.yaml): it outranks the declaration. */
  profileValues: Values;
};

/** The secret keys the declared components read that go under secrets.extra (not the chart's own). */
export function extraSecretKeys(app: App): string[] {
  return [...new Set(Object.values(app.components).flatMap((c) => c.secrets ?? []))].filter((k) => !Object.hasOwn(CHART_SECRET_KEYS, k));
}

/**
 * Where the database migrations run: the first component that declares a migrate command, in its
 * image; with none, they are off whatever the profile says (its default names a component of the
 * reference app).
 */
export function migrationValues(app: App): Values {
  const entry = Object.entries(app.components).find(([, c]) => c.migrate);
  return entry ? { component: entry[0], command: entry[1].migrate } : { enabled: false };
}

/**
 * The declared components as `components` values, with the profile file's components laid over
 * them (the profile outranks the declaration). `chartValues` is values.yaml under the profile.
 */
export function declarationLayer(app: App, appValues: Record<string, string>, chartValues: Values, profileValues: Values, driver: string, profile: string): Values {
  const declared = componentValues(app, (chartValues.components ?? {}) as Values, appValues, driver, profile);
  return mergeValues(declared, (profileValues.components ?? {}) as Values);
}

/**
 * The values setup adds on top of the profile file, secrets included (sent on stdin only). The
 * declaration's components lie under the profile (its values win) and the generated ones (images,
 * access URLs, secrets) over both.
 */
export function releaseValues(inp: ReleaseInputs): Values {
  const s = inp.settings;
  const origins = s.CORS_ORIGINS || inp.origins.join(',');
  const first = s.BETTER_AUTH_URL || inp.origins[0] || '';
  const components = declarationLayer(inp.app, inp.appValues, inp.chartValues, inp.profileValues, s.TASKFLOW_DRIVER, s.TASKFLOW_PROFILE);
  const extra: Record<string, string> = {};
  for (const [name, c] of Object.entries(inp.app.components)) {
    const env: Values = {};
    for (const [variable, which] of Object.entries(c.accessUrls ?? {})) env[variable] = which === 'first' ? first : origins;
    const image = inp.images[name];
    const generated: Values = { env };
    // Images come from the registry when one is set, so the cluster must be allowed to pull them (dev says Never).
    if (image) generated.image = { ...image, ...(s.TASKFLOW_IMAGE_REGISTRY ? { pullPolicy: 'IfNotPresent' } : {}) };
    components[name] = mergeValues(components[name] as Values, generated);
  }
  // Every key a component reads that the chart's Secret does not hold itself: its value, or empty
  // (an optional setting left unset), so the Secret holds each key the pods ask for.
  for (const key of extraSecretKeys(inp.app)) {
    const value = inp.appValues[key] ?? (s as Record<string, unknown>)[key];
    extra[key] = typeof value === 'string' ? value : '';
  }
  const values: Values = {
    commonAnnotations: { 'taskflow.dev/chart-hash': inp.chartHash, 'taskflow.dev/profile': s.TASKFLOW_PROFILE },
    components,
    migrations: migrationValues(inp.app),
    ingress: { host: s.TASKFLOW_INGRESS_HOST },
    secrets: {
      betterAuthSecret: s.BETTER_AUTH_SECRET ?? '',
      openaiApiKey: s.OPENAI_API_KEY,
      // Empty lets the chart generate one and keep it; a value from env/.env is the one compose uses too.
      mcpSharedSecret: s.MCP_SHARED_SECRET ?? '',
      extra,
    },
  };
  if (s.DATABASE_URL) {
    values.postgresql = { enabled: false };
    values.externalDatabase = { url: s.DATABASE_URL };
  } else {
    values.postgresql = { auth: { password: s.POSTGRES_PASSWORD ?? '' } };
  }
  return values;
}
