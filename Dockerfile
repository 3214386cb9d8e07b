# DataFlow ChatOps bot image: `docker compose build bot` or `docker build -t dataflow-chatops .`
# Two stages: build a wheel with the full toolchain, install only the wheel in the runtime image.
FROM python:3.11-slim AS build
WORKDIR /src
# README.md is the package's long description (pyproject.toml), so the build needs it.
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    BOT_HOST=0.0.0.0 \
    BOT_PORT=3000 \
    LOG_FORMAT=json
RUN useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin dataflow
WORKDIR /app
COPY --from=build /wheels /tmp/wheels
RUN pip install --no-cache-dir /tmp/wheels/*.whl && rm -rf /tmp/wheels
# Defaults for PIPELINE_FILE (config/pipelines.yml) and SCHEMA_CONTRACTS_DIR (schemas), relative to
# /app; docker-compose.yml mounts the checkout's copies over them.
COPY config ./config
COPY schemas ./schemas
USER dataflow
EXPOSE 3000
# /healthz answers 200 only when Redis does; urlopen raises on 503, which fails the check.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('BOT_PORT', '3000'), timeout=4)"]
CMD ["dataflow-bot", "serve"]
