// Shared plumbing of the fake CLIs in this folder: one JSON state file (the "machine": Docker
// images, clusters, kube contexts, namespaces, Helm releases, pods), a call log, and the loud
// failure for any command a fake does not know. The state file is named by FAKE_CLI_STATE.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const STATE = process.env.FAKE_CLI_STATE;
if (!STATE) {
  process.stderr.write('fake CLI: FAKE_CLI_STATE is not set; these fakes run only inside the tests\n');
  process.exit(98);
}

function sleep(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Serialises state updates: setup runs two docker builds at once. */
function withLock(fn) {
  const lock = `${STATE}.lock`;
  const started = Date.now();
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch {
      if (Date.now() - started > 5000) fs.rmSync(lock, { recursive: true, force: true });
      sleep(5);
    }
  }
  try {
    return fn();
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

function read() {
  return JSON.parse(fs.readFileSync(STATE, 'utf8'));
}

function write(state) {
  const tmp = `${STATE}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, JSON.stringify(state, null, 2));
  fs.renameSync(tmp, STATE);
}

/** Runs fn(state) under the lock and saves what it changed. */
function update(fn) {
  return withLock(() => {
    const state = read();
    const result = fn(state);
    write(state);
    return result;
  });
}

/** Appends this call to the log the tests assert on. */
function record(tool, args) {
  // DOCKER_HOST is recorded with the call: it says which daemon a docker command talked to.
  const dockerHost = tool === 'docker' && process.env.DOCKER_HOST ? { dockerHost: process.env.DOCKER_HOST } : {};
  fs.appendFileSync(`${STATE}.calls`, `${JSON.stringify({ tool, args, ...dockerHost })}\n`);
  // While it runs, each fake leaves its PID here, with its call, so a test can see a CLI the
  // toolkit left behind, and tell a long-running watch from a log follower.
  const live = `${STATE}.live`;
  fs.mkdirSync(live, { recursive: true });
  fs.writeFileSync(`${live}/${process.pid}`, JSON.stringify({ tool, args }));
  process.on('exit', () => fs.rmSync(`${live}/${process.pid}`, { force: true }));
  // Benchmarks only: FAKE_CLI_LATENCY_MS stands for a real CLI's start-up and API round trip
  // (each minikube call takes 0.5–2 s on a real machine), and each call's start and end are kept
  // so the bench can count the rounds of calls on the critical path.
  const latency = Number(process.env.FAKE_CLI_LATENCY_MS || 0);
  if (latency > 0) {
    const start = Date.now();
    sleep(latency);
    const argv = [...args];
    process.on('exit', () => fs.appendFileSync(`${STATE}.timing`, `${JSON.stringify({ tool, args: argv, start, end: Date.now() })}\n`));
  }
}

/** A minikube profile's node address: fixed at start, 192.168.49.2 for a profile made by a test. */
function profileIp(p) {
  return p.ip ?? '192.168.49.2';
}

function unsupported(tool, args) {
  process.stderr.write(`fake ${tool}: unsupported: ${args.join(' ')}\n`);
  process.exit(99);
}

function out(text) {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

function fail(message, code = 1) {
  process.stderr.write(message.endsWith('\n') ? message : `${message}\n`);
  process.exit(code);
}

/** Removes `--name value` / `--name=value` from args and returns its value. */
function takeOption(args, ...names) {
  for (let i = 0; i < args.length; i++) {
    for (const name of names) {
      if (args[i] === name && i + 1 < args.length) {
        const v = args[i + 1];
        args.splice(i, 2);
        return v;
      }
      if (args[i].startsWith(`${name}=`)) {
        const v = args[i].slice(name.length + 1);
        args.splice(i, 1);
        return v;
      }
    }
  }
  return undefined;
}

/** Removes every occurrence of a repeatable option and returns the values in order. */
function takeAll(args, ...names) {
  const values = [];
  for (let v = takeOption(args, ...names); v !== undefined; v = takeOption(args, ...names)) values.push(v);
  return values;
}

function takeFlag(args, name) {
  const i = args.indexOf(name);
  if (i < 0) return false;
  args.splice(i, 1);
  return true;
}

/** The cluster behind a kube context, or undefined when the context is unknown. */
function clusterOf(state, context) {
  const ref = state.kube.contexts[context];
  if (!ref) return undefined;
  if (ref === 'docker-desktop') return { kind: 'docker-desktop', running: state.dockerDesktop.running, images: state.docker.images };
  const [kind, name] = ref.split(':');
  const c = kind === 'minikube' ? state.minikube.profiles[name] : state.kind.clusters[name];
  if (!c) return { kind, running: false, images: [] };
  return { kind, running: kind === 'minikube' ? c.host === 'Running' : c.running, images: c.images };
}

module.exports = { profileIp, read, update, record, unsupported, out, fail, takeOption, takeAll, takeFlag, clusterOf, sleep, withLock, STATE };
