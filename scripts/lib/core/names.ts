// Resource names as the chart builds them (helm/taskflow/templates/_helpers.tpl), for the scripts
// that address Services, Deployments and the Secret of a release.

const CHART_NAME = 'taskflow';

function trimDash(s: string): string {
  return s.replace(/-+$/, '');
}

/** The chart's `taskflow.fullname`: the release alone when it already contains the chart name. */
export function chartFullname(release: string): string {
  return release.includes(CHART_NAME) ? trimDash(release.slice(0, 63)) : trimDash(`${release}-${CHART_NAME}`.slice(0, 63));
}

/** The chart's `taskflow.componentName`: the fullname is cut first so the component suffix survives. */
export function serviceName(release: string, component: string): string {
  return trimDash(`${chartFullname(release).slice(0, 62 - component.length)}-${component}`);
}


/** The `app.kubernetes.io/component` label the chart's selectors use (a declared component's name, or postgresql); '' when absent. */
export function componentOf(o: { metadata: { labels?: Record<string, string> } }): string {
  return o.metadata.labels?.['app.kubernetes.io/component'] ?? '';
}
