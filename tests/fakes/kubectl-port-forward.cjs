// Fake of `kubectl [--context C] [--namespace NS|-n NS] port-forward service/NAME LOCAL:REMOTE`.
//
// Like the real one it REALLY listens on 127.0.0.1:LOCAL (and [::1]:LOCAL when it can), prints
//   Forwarding from 127.0.0.1:LOCAL -> REMOTE
//   Forwarding from [::1]:LOCAL -> REMOTE
// on stdout, "Handling connection for LOCAL" per connection, and pipes each connection over TCP
// to the "pod": a local server the test started. Like real kubectl when its pod goes away, it
// prints "error: lost connection to pod" on stderr and exits 1 when
//   - it receives SIGUSR2 (the test "replaces the pod"), or
//   - a connection cannot reach the pod (the test stopped the pod's server).
// SIGTERM/SIGINT end it as they end kubectl.
//
// Environment:
//   FAKE_KUBECTL_PF_TARGETS  JSON {"service/NAME": PORT, ...}: where each resource's pod listens on
//                            127.0.0.1. An unknown resource fails like kubectl does:
//                            Error from server (NotFound): services "NAME" not found (exit 1).
//   FAKE_KUBECTL_PF_TARGETS_FILE  optional: a file holding that JSON instead, read at each start, so
//                            a test can "replace the pod": point the file at a new server, stop the
//                            old one, and the running fake (pinned to the old pod, as kubectl is)
//                            exits on its next connection; its successor reaches the new pod.
//   FAKE_KUBECTL_PF_DIR      optional: each run appends {"pid", "args"} as one JSON line to
//                            calls.jsonl there, so a test can assert the exact argv and find the PIDs.
//
// The main fake tests/fakes/kubectl requires this module for `port-forward`; args are the argv
// after 'port-forward', with --context/--namespace still in them or already stripped.
'use strict';
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

function die(message, code) {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

/** Splits argv into the flags kubectl would read and the positional resource and port pair. */
function parse(args) {
  const flags = {};
  const positional = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const eq = /^--(context|namespace|address|pod-running-timeout)=(.*)$/.exec(a);
    if (eq) flags[eq[1]] = eq[2];
    else if (a === '--context' || a === '--namespace' || a === '-n' || a === '--address' || a === '--pod-running-timeout') {
      flags[a === '-n' ? 'namespace' : a.slice(2)] = args[++i];
    } else if (a === 'port-forward') continue;
    // cobra's wording, as kubectl v1.32.4 prints it: "Error: unknown flag: --x" then the usage hint.
    else if (a.startsWith('-')) die(`Error: unknown flag: ${a}\nSee 'kubectl port-forward --help' for usage.`, 1);
    else positional.push(a);
  }
  return { flags, positional };
}

module.exports = function portForward(args, env) {
  const { positional } = parse(args);
  if (env.FAKE_KUBECTL_PF_DIR) {
    fs.appendFileSync(path.join(env.FAKE_KUBECTL_PF_DIR, 'calls.jsonl'), `${JSON.stringify({ pid: process.pid, args })}\n`);
  }
  const [resource, pair] = positional;
  if (!resource || !pair || positional.length !== 2) die('error: TYPE/NAME and list of ports are required for port-forward', 1);
  const m = /^(\d+):(\d+)$/.exec(pair);
  if (!m) die(`error: invalid port pair ${pair} (the fake takes LOCAL:REMOTE)`, 1);
  const local = Number(m[1]);
  const remote = Number(m[2]);
  const targets = JSON.parse(env.FAKE_KUBECTL_PF_TARGETS_FILE ? fs.readFileSync(env.FAKE_KUBECTL_PF_TARGETS_FILE, 'utf8') : env.FAKE_KUBECTL_PF_TARGETS || '{}');
  const podPort = targets[resource];
  if (!podPort) {
    const [kind, name] = resource.split('/');
    die(`Error from server (NotFound): ${kind === 'service' || kind === 'svc' ? 'services' : `${kind}s`} "${name}" not found`, 1);
  }

  const lost = () => die('error: lost connection to pod', 1);
  process.on('SIGUSR2', lost);

  const handle = (client) => {
    process.stdout.write(`Handling connection for ${local}\n`);
    const pod = net.connect(podPort, '127.0.0.1');
    pod.once('error', (err) => {
      client.destroy();
      process.stderr.write(`E0101 00:00:00.000000 ${process.pid} portforward.go:413] an error occurred forwarding ${local} -> ${remote}: error forwarding port ${remote} to pod: ${err.message}\n`);
      lost();
    });
    client.once('error', () => pod.destroy());
    client.pipe(pod).pipe(client);
  };

  const v4 = net.createServer(handle);
  v4.once('error', (err) => {
    process.stderr.write(`Unable to listen on port ${local}: Listeners failed to create with the following errors: [unable to create listener: Error listen tcp4 127.0.0.1:${local}: bind: ${err.code === 'EADDRINUSE' ? 'address already in use' : err.message}]\n`);
    die(`error: unable to listen on any of the requested ports: [{${local} ${remote}}]`, 1);
  });
  v4.listen({ port: local, host: '127.0.0.1', exclusive: true }, () => {
    process.stdout.write(`Forwarding from 127.0.0.1:${local} -> ${remote}\n`);
    // Real kubectl also binds ::1 and only warns when it cannot.
    const v6 = net.createServer(handle);
    v6.once('error', () => {});
    v6.listen({ port: local, host: '::1', exclusive: true }, () => process.stdout.write(`Forwarding from [::1]:${local} -> ${remote}\n`));
  });
};
