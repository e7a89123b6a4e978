// The chart's data files (helm/taskflow/files/): the chart's templates read them with .Files.Get and
// the toolkit reads them here, so both draw the same line from one copy. Of secret-keys.yaml the
// toolkit needs only which keys the chart's Secret holds and whether pods need each one; how the
// chart fills them (values key, generated length) is the chart's business.
import { chartDir } from './values.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { projectRoot } from '../paths.ts';

function chartFile<T>(name: string): T {
  return parseYaml(readFileSync(join(chartDir(projectRoot), 'files', name), 'utf8')) as T;
}

/** Names that look like secrets, as a case-insensitive pattern: the chart refuses them in <component>.env. */
export const SECRET_NAME_PATTERN = chartFile<{ pattern: string }>('secret-names.yaml').pattern;

/** One key of the chart's own Secret as secret-keys.yaml describes it (the file's header explains each field). */
type ChartSecretKey = {
  need: 'required' | 'optional';
  valuesKey?: string;
  generate?: number;
  generateOnlyWhenRead?: boolean;
  database?: boolean;
};

/** The keys the chart's own Secret can hold, and whether the pods need each one; any other key a component reads goes under secrets.extra. */
export const CHART_SECRET_KEYS: Record<string, 'required' | 'optional'> = Object.fromEntries(
  Object.entries(chartFile<Record<string, ChartSecretKey>>('secret-keys.yaml')).map(([key, spec]) => [key, spec.need]),
);

/** Component names the chart's own objects take (PostgreSQL, the migration Job, the test pods). */
export const RESERVED_COMPONENT_NAMES = chartFile<{ names: string[] }>('reserved-names.yaml').names;
