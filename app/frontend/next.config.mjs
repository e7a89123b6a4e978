// Next.js settings: a self-contained server (`.next/standalone/server.js`) that learns its backend address at run time.
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

// This folder is its own npm project; pin the tracing root so a lockfile further up is never taken as the root.
const here = dirname(fileURLToPath(import.meta.url));

/** @type {import('next').NextConfig} */
const nextConfig = {
  output: 'standalone',
  outputFileTracingRoot: here,
  turbopack: { root: here },
  poweredByHeader: false,
  reactStrictMode: true,
};

export default nextConfig;
