# strongroom's image. BASE may be any Debian-based image with python3 (3.11+), venv and pip; the default is
# the official Python slim image. The builder installs strongroom and exactly the dependency versions in
# uv.lock into a virtual environment; the final stage copies only that environment onto a fresh BASE.
ARG BASE=python:3.11-slim

FROM ${BASE} AS builder
# uv verifies TLS against the system's trust store, as pip does, so a proxy's CA installed in BASE works.
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 UV_SYSTEM_CERTS=1 UV_PYTHON_DOWNLOADS=never \
    UV_LINK_MODE=copy UV_COMPILE_BYTECODE=1 UV_PROJECT_ENVIRONMENT=/opt/strongroom
RUN python3 -m venv /opt/uv && /opt/uv/bin/pip install --quiet uv==0.13.10
WORKDIR /src
# The dependencies first, in their own layer, so a change to the code alone does not download them again.
COPY pyproject.toml uv.lock README.md ./
RUN /opt/uv/bin/uv sync --locked --no-dev --no-install-project --python python3 --no-cache
COPY src ./src
RUN /opt/uv/bin/uv sync --locked --no-dev --no-editable --python python3 --no-cache

FROM ${BASE}
# A fixed uid and gid, so volumes prepared on the host (or by an init container) can be owned to match.
RUN groupadd --gid 1000 strongroom \
    && useradd --uid 1000 --gid strongroom --home-dir /strongroom --no-create-home \
        --shell /usr/sbin/nologin strongroom \
    && mkdir -p /strongroom/config /strongroom/data /strongroom/logs \
    && chown strongroom:strongroom /strongroom /strongroom/config /strongroom/data /strongroom/logs
COPY --from=builder /opt/strongroom /opt/strongroom
COPY docker/docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ENV PATH=/opt/strongroom/bin:$PATH \
    HOME=/strongroom \
    STRONGROOM_CONFIG_DIR=/strongroom/config \
    STRONGROOM_HEALTH_ADDR=http://127.0.0.1:8200
VOLUME ["/strongroom/config", "/strongroom/data", "/strongroom/logs"]
WORKDIR /strongroom
EXPOSE 8200
USER strongroom
# Healthy when active or a standby (standbyok); sealed, uninitialized or unreachable is unhealthy. Python's
# own urllib, so the image needs no curl. TLS listeners: set STRONGROOM_HEALTH_ADDR=https://...
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 CMD ["python3", "-c", "import os, ssl, sys, urllib.error, urllib.request as r\nurl = os.environ['STRONGROOM_HEALTH_ADDR'] + '/v1/sys/health?standbyok=true'\ntry:\n    r.urlopen(url, timeout=2, context=ssl._create_unverified_context())\nexcept (urllib.error.URLError, OSError):\n    sys.exit(1)"]
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["server", "-dev"]
