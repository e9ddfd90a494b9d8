# The healthscore worker. `docker compose up` runs it against Apache Kafka and Redis.

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY schemas ./schemas
COPY scoring ./scoring
COPY streams ./streams
# Sample events, for `healthscore produce data/sample_events.jsonl`.
COPY data ./data
RUN pip install --no-cache-dir '.[rocksdb]'

RUN useradd --create-home --uid 10001 healthscore
USER healthscore

# /metrics, /livez and /readyz must be reachable from outside the container; the default
# datadir (./.healthscore) would be under /app, which the non-root user cannot write.
ENV HEALTHSCORE_WEB_HOST=0.0.0.0 \
    HEALTHSCORE_DATADIR=/tmp/healthscore
EXPOSE 6066
CMD ["healthscore", "worker"]
