# MCP server image: the task tools over MCP's streamable HTTP transport, served by uvicorn
# through `python -m taskflow_mcp` (context: app/mcp).
#
# Runs under a read-only root filesystem. Writable at run time: /tmp only (mount an emptyDir
# or tmpfs there). Nothing else is written: the dependencies' bytecode is compiled at install
# time, PYTHONDONTWRITEBYTECODE stops Python from writing any more, and HOME points into /tmp.
#
# Build args:
#   BASE_IMAGE           Python base for both stages (same interpreter path, so the venv works)
#   PIP_INDEX_URL, PIP_EXTRA_INDEX_URL, PIP_FIND_LINKS, PIP_TRUSTED_HOST
#                        package mirror settings, seen by pip in the build stage only
# Run-time env: PORT (default 8001), HOST (default 0.0.0.0), GRACEFUL_TIMEOUT (seconds open
#   requests get on SIGTERM, default 20), plus DATABASE_URL and MCP_SHARED_SECRET - never baked in here.
ARG BASE_IMAGE=python:3.12-slim

FROM ${BASE_IMAGE} AS build
# Mirror settings live only in this stage: its layers are not part of the final image, so
# neither `docker history` nor `docker inspect` of the result shows them.
ARG PIP_INDEX_URL
ARG PIP_EXTRA_INDEX_URL
ARG PIP_FIND_LINKS
ARG PIP_TRUSTED_HOST
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_INPUT=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
# Dependencies first, apart from the source, so a code change reuses this layer.
COPY requirements.txt /tmp/requirements.txt
# Then trim what only installing or compiling needs: pip itself, and the C/Cython sources and
# headers some wheels ship.
# A mirror arg passed empty (compose does that for unset variables) is dropped, not used as "".
RUN --mount=type=cache,target=/root/.cache/pip \
    for v in PIP_INDEX_URL PIP_EXTRA_INDEX_URL PIP_FIND_LINKS PIP_TRUSTED_HOST; do \
      eval "[ -n \"\${$v:-}\" ] || unset $v"; \
    done \
 && /opt/venv/bin/pip install -r /tmp/requirements.txt \
 && /opt/venv/bin/python -m pip uninstall -y -q pip setuptools wheel \
 && find /opt/venv \( -name '*.c' -o -name '*.cpp' -o -name '*.pyx' -o -name '*.pxd' -o -name '*.h' \) -type f -delete

FROM ${BASE_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    VIRTUAL_ENV=/opt/venv \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    PORT=8001
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
# Source last: it changes most often. Files stay root-owned, so the app user cannot modify them.
COPY . /app
# A numeric uid:gid needs no passwd entry, so this works on any base (no useradd) and lets
# Kubernetes' runAsNonRoot verify it.
USER 1000:1000
EXPOSE 8001
# Readiness, as the backend's image does it: healthy once the database answers and has the tables.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '8001'), timeout=4)"
# Exec form: PID 1 is the server itself, so SIGTERM reaches uvicorn and the graceful shutdown runs.
CMD ["python", "-m", "taskflow_mcp"]
