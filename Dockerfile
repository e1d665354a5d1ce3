# Facet's one image: the API (default CMD), the worker (`python worker.py`) and the
# migration job (`python -m db.migrate`) all run from it; docker-compose.yml picks the command.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# The source lives in /app and is installed editable from there, so core.settings.PROJECT_ROOT
# is /app and `python -m db.migrate` finds /app/alembic.ini and /app/migrations. (A regular
# install would put the packages in site-packages, where neither file is.)
WORKDIR /app

# Runtime dependencies first, in their own layer: it is rebuilt only when pyproject.toml or
# constraints.txt change. The dev extras (pytest, ruff, mypy, ...) are not installed.
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install --no-cache-dir -c constraints.txt -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY alembic.ini worker.py ./
COPY core ./core
COPY db ./db
COPY api ./api
COPY workflows ./workflows
COPY activities ./activities
COPY sequences ./sequences
COPY qualification ./qualification
COPY providers ./providers
COPY domain ./domain
COPY connectors ./connectors
COPY web ./web
COPY insight ./insight
COPY migrations ./migrations
RUN pip install --no-cache-dir -c constraints.txt --no-deps -e .
# Bytecode now, since PYTHONDONTWRITEBYTECODE stops Python writing it later (and the code is
# read-only to the app): the workflow sandbox re-imports the workflow modules for every
# workflow run, and without .pyc files each of those imports compiled the source again.
RUN python -m compileall -q core db api workflows activities sequences qualification providers domain web connectors insight worker.py

# Run as an unprivileged user; the code stays owned by root, so the app cannot rewrite itself.
RUN useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin facet
USER facet

EXPOSE 8000
CMD ["uvicorn", "api.app:create_app", "--factory", "--host", "0.0.0.0", "--port", "8000"]
