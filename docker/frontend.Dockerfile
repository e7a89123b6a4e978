# Frontend image: the Next.js standalone server, built from the app dir (context: app/frontend).
#
# Runs under a read-only root filesystem. Writable at run time: /tmp only (mount an emptyDir
# or tmpfs there). Next.js writes its cache (image optimisation, fetch cache) to .next/cache,
# which in this image is a symlink to /tmp, so no other mount is needed.
#
# Build args:
#   BASE_IMAGE            Node.js base for every stage (any Alpine or Debian node image)
#   NPM_CONFIG_REGISTRY   npm mirror, seen by `npm ci` in the deps stage only
# Run-time env: PORT (default 3000), BACKEND_URL (read per request by the API proxy; nothing
#   about the backend is baked in at build time).
ARG BASE_IMAGE=node:20-alpine

FROM ${BASE_IMAGE} AS deps
WORKDIR /src
# The mirror lives only in this stage: its layers are not part of the final image, so neither
# `docker history` nor `docker inspect` of the result shows it.
ARG NPM_CONFIG_REGISTRY
ENV NEXT_TELEMETRY_DISABLED=1 \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false
# Lockfile first: dependencies are reinstalled only when it changes, not on every code change.
COPY package.json package-lock.json ./
# A mirror arg passed empty (compose does that for unset variables) is dropped, not used as "".
RUN --mount=type=cache,target=/root/.npm \
    if [ -z "${NPM_CONFIG_REGISTRY:-}" ]; then unset NPM_CONFIG_REGISTRY; fi \
 && npm ci --include=dev --no-audit --no-fund

FROM deps AS build
ENV NODE_ENV=production
COPY . .
# public/ may be absent in the app; the cache dir becomes a link to /tmp, the only writable path
# under a read-only root filesystem.
RUN mkdir -p public \
 && ./node_modules/.bin/next build \
 && rm -rf .next/standalone/.next/cache \
 && ln -s /tmp .next/standalone/.next/cache

FROM ${BASE_IMAGE} AS runtime
ENV NODE_ENV=production \
    NEXT_TELEMETRY_DISABLED=1 \
    PORT=3000 \
    HOSTNAME=0.0.0.0 \
    HOME=/tmp
WORKDIR /app
# Only the standalone server (with the node_modules it traced), its static assets and public/.
# Files stay root-owned, so the app user cannot modify them.
COPY --from=build /src/.next/standalone ./
COPY --from=build /src/.next/static ./.next/static
COPY --from=build /src/public ./public
# A numeric uid:gid needs no passwd entry, so this works on any base (no adduser) and lets
# Kubernetes' runAsNonRoot verify it.
USER 1001:1001
EXPOSE 3000
# node's built-in fetch: no curl or wget needed, same on Alpine and Debian bases.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/api/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "server.js"]
