// Small network helpers shared by the scripts and the tests.
import { createServer } from 'node:net';
import { UserError } from './errors.ts';

/** A TCP port that was free on 127.0.0.1 a moment ago (for tunnels and servers opened right after). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new UserError('could not pick a free port on 127.0.0.1', 'Close some programs that listen on local ports, then rerun.'))));
    });
  });
}
