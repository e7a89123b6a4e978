// The images step's actions: build what is missing where the cluster can use it, and deliver what a
// host build left outside (a load into the cluster, or a push to the registry).
import { join } from 'node:path';
import { InputError, UserError } from '../core/errors.ts';
import type { ImageRoute } from '../cluster/drivers.ts';
import type { Session } from '../core/session.ts';
import type { Docker } from '../tools/docker.ts';
import type { StepOutcome } from '../core/ui.ts';
import { ImagePlan, builtIn, target } from './plan.ts';
import { ImageRefs } from './tag.ts';

/** Builds every planned image that is missing, in parallel, where the route says, output in .cache/logs/build-<component>.log. */
export async function buildImages(sn: Session, plans: ImagePlan[], route: ImageRoute): Promise<ImagePlan[]> {
  const at = target(sn, true, route);
  const builds = plans.filter((p) => p.verdict.action === 'build');
  const logDir = join(sn.root, '.cache', 'logs');
  await Promise.all(
    builds.map((b) =>
      at.builder
        .build({ image: b.ref, dockerfile: b.src.dockerfile, context: b.src.contextDir, target: b.src.target, buildArgs: b.src.buildArgs, logFile: join(logDir, `build-${b.src.component}.log`) })
        .catch((err: Error) => {
          throw new UserError(`building ${b.ref}${builtIn(at)} failed; the full output is in .cache/logs/build-${b.src.component}.log`, err.message.split('\n').slice(-8).join('\n'));
        }),
    ),
  );
  return builds;
}

/** Delivers what the plans say to: a load into the cluster, or a push to the registry. */
export async function deliverBuilt(sn: Session, plans: ImagePlan[], clusterRunning: boolean, route: ImageRoute): Promise<ImagePlan[]> {
  const at = target(sn, clusterRunning, route);
  const logDir = join(sn.root, '.cache', 'logs');
  const deliveries = plans.filter((p) => p.verdict.action === 'deliver' || (p.verdict.action === 'build' && p.verdict.deliver));
  for (const d of deliveries) {
    const log = join(logDir, `${at.registry ? 'push' : 'load'}-${d.src.component}.log`);
    await (at.registry ? sn.tools.docker.push(d.ref, log) : sn.cluster.loadImage(d.ref, log));
  }
  return deliveries;
}

/**
 * The images step: build what is missing (in parallel, output in .cache/logs) where the cluster can
 * use it, and deliver what a host build left outside (load into the cluster, or push to the
 * registry). A dry run prints the builds and deliveries.
 */
export async function deliverImages(sn: Session, opts: { clusterRunning: boolean; route: Promise<ImageRoute> | ImageRoute; observed: Promise<ImagePlan[]> }): Promise<StepOutcome<ImageRefs>> {
  const route = await opts.route;
  const at = target(sn, opts.clusterRunning, route);
  const plans = await opts.observed;
  const missing = plans.filter((p) => p.verdict.action === 'skip-build');
  if (missing.length) {
    const refs = missing.map((p) => p.ref);
    const listed = refs.length > 1 ? `${refs.slice(0, -1).join(', ')} and ${refs.at(-1)}` : refs[0];
    const places = at.local ? `in neither ${at.where} nor local Docker` : `not in ${at.where} (${at.route.via === 'daemon' ? at.route.where : 'its runtime'})`;
    throw new InputError(`--skip-build, but ${listed} ${refs.length > 1 ? 'are' : 'is'} ${places}`, 'Run setup without --skip-build once.');
  }
  const toBuild = plans.filter((p) => p.verdict.action === 'build');
  if (toBuild.length && !sn.dryRun) sn.ui.info(`  building ${toBuild.map((b) => b.ref).join(', ')}${builtIn(at)} (output in .cache/logs/build-*.log)`);
  const builds = await buildImages(sn, plans, route);
  const deliveries = await deliverBuilt(sn, plans, opts.clusterRunning, route);
  const delivered = at.registry ? 'pushed' : 'loaded';
  const would = sn.dryRun ? 'would be ' : '';
  // Minikube's route is known once it runs: until then a build is only a build.
  const undecided = !at.registry && at.route.via === 'undecided';
  const built = builtIn(at) ? "built in the cluster's Docker daemon" : at.sharesDocker || undecided ? 'built' : `built and ${delivered}`;
  const lines = plans.map((p) => {
    const v = p.verdict;
    const what = v.action === 'none' ? `found in ${at.where}, skipping build` : v.action === 'deliver' ? `built already, ${would}${delivered}` : `${would}${built}`;
    return `${p.src.component} ${p.tag}: ${what}`;
  });
  // Where the images went, once something was built or delivered (or the route is not known yet).
  const why = !at.registry && (builds.length || deliveries.length || undecided) ? ` (${at.route.why})` : '';
  const images = Object.fromEntries(plans.map((p) => [p.src.component, { repository: p.repository, tag: p.tag }]));
  return { status: builds.length || deliveries.length ? 'done' : 'skipped', detail: `${lines.join('; ')}${why}`, value: images };
}
