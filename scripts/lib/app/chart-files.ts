// The chart's data files (helm/taskflow/files/): the chart's templates read them with .Files.Get and
// the toolkit reads them here, so both draw the same line from one copy.
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

/** The keys the chart's own Secret can hold, and whether the pods need each one; any other key a component reads goes under secrets.extra. */
export const CHART_SECRET_KEYS = chartFile<Record<string, 'required' | 'optional'>>('secret-keys.yaml');

/** Component names the chart's own objects take (PostgreSQL, the migration Job, the test pods). */
export const RESERVED_COMPONENT_NAMES = chartFile<{ names: string[] }>('reserved-names.yaml').names;
