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
EXPOSE 8000 9101 9102 9103
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import saksflyt" || exit 1
ENTRYPOINT ["saksflyt"]
CMD ["--help"]
