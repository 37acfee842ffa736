# syntax=docker/dockerfile:1
# The portal's one image. The web (gunicorn), worker and beat (Celery) and the migrate job all run
# it, each with the command docker-compose.yml gives it. Build: docker build -t clearance-portal .

# --- Front-end packages (USWDS, htmx) from the npm registry, exactly as package-lock.json pins them.
FROM node:20-bookworm-slim AS frontend
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# --- What the later stages share: the libraries WeasyPrint loads, fonts for the PDFs (Noto CJK
# covers Korean), and the Python dependencies in a virtualenv.
FROM python:3.12-slim-bookworm AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core fonts-noto-cjk \
 && rm -rf /var/lib/apt/lists/*
# Only the dependencies of pyproject.toml, held to the versions of the constraints.txt lock. The
# code itself runs from /app, where settings find templates/, node_modules/ and build/static;
# installing "." as well would re-run pip on every code change and put a second copy of the
# apps, without their templates, into site-packages.
COPY pyproject.toml constraints.txt /tmp/deps/
RUN python -m venv /opt/venv \
 && python -c "import tomllib; print('\n'.join(tomllib.load(open('/tmp/deps/pyproject.toml', 'rb'))['project']['dependencies']))" \
      > /tmp/deps/requirements.txt \
 && pip install -c /tmp/deps/constraints.txt -r /tmp/deps/requirements.txt \
 && rm -rf /tmp/deps

# --- Build outputs: message catalogues and static files. gettext is needed only here.
FROM base AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends gettext \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . .
COPY --from=frontend /src/node_modules ./node_modules
# Settings need these to import; nothing connects or pays at build time. The key is a build-only
# placeholder that never reaches a running container (RUN-scoped, not ENV): those get theirs
# from the environment. compilemessages refuses to run when no locale directory exists at all,
# so LOCALE_PATHS (locale/) is created if the tree has no catalogues yet.
RUN export DATABASE_URL=postgres://build@localhost/build \
           REDIS_URL=redis://localhost:6379/0 \
           SECRET_KEY=build-only-placeholder-not-a-secret-0123456789abcdefghij \
           DEBUG=false \
           PAYMENT_SANDBOX_NOT_FOR_PRODUCTION=true \
 && mkdir -p locale \
 && python manage.py compilemessages --ignore=node_modules \
 && python manage.py collectstatic --noinput

# --- The image that runs: the code and build outputs, owned by root and read-only to the
# unprivileged user that runs it. Everything the portal writes goes to DATA_DIR (/data).
FROM base AS runtime
RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --create-home --home-dir /home/app app \
 && install -d -o app -g app /data
WORKDIR /app
COPY --from=build /app /app
ENV PYTHONPATH=/app \
    DATA_DIR=/data
USER app
EXPOSE 8000
# No HEALTHCHECK in the image: the same image runs the worker, beat and the migrate job, which
# serve no HTTP, and /healthz answers 503 whenever no worker heartbeat is seen, so it says
# nothing about the web container alone. docker-compose.yml gives each service its own check.
CMD ["gunicorn", "clearance.wsgi:application", "--bind", "0.0.0.0:8000", "--access-logfile", "-"]
