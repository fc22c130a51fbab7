# saksflyt as a container: one image, one process per container (docker compose runs the intake,
# relay, projector, API, notices and retention beside Kafka, PostgreSQL, Prometheus and Grafana:
# compose/docker-compose.yml). Not needed by `make test`, which runs without Docker.
#
#   docker build -t saksflyt .
#   docker run --rm saksflyt --help
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    SAKSFLYT_SQLITE_PATH=/data/saksflyt.db \
    SAKSFLYT_KEY_RING=/data/keyring.json \
    SAKSFLYT_DOCUMENT_DIR=/data/documents \
    SAKSFLYT_EXPORT_DIR=/data/exports

WORKDIR /app
COPY pyproject.toml README.md ./
COPY domain ./domain
COPY schemas ./schemas
COPY consumers ./consumers
COPY projections ./projections
COPY saksflyt ./saksflyt
# the parquet extra: Parquet downloads of the read models (leave it out for a smaller image)
RUN pip install '.[parquet]' && useradd --system --uid 10001 --home /data saksflyt \
    && mkdir -p /data && chown saksflyt /data

USER saksflyt
VOLUME ["/data"]
# the API, then /metrics, /healthz and /readyz of relay, intake, projector, notices, retention
EXPOSE 8000 9101 9102 9103 9104 9105
# asks the running process (HEALTHCHECK_URL: its /readyz, as the compose file sets per
# service); without one, a one-shot command has nothing to ask and counts as healthy
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import os, urllib.request; \
url = os.environ.get('HEALTHCHECK_URL'); url and urllib.request.urlopen(url, timeout=4)" \
    || exit 1
ENTRYPOINT ["saksflyt"]
CMD ["--help"]
