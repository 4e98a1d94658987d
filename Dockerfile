# Forodha application image: one image for web (gunicorn), worker and beat.
FROM python:3.12-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production

WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq5 curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 1000 forodha

COPY pyproject.toml README.md ./
COPY . .
RUN pip install . && python -m compileall -q . \
 && mkdir -p /app/var && chown -R forodha /app/var

USER forodha
EXPOSE 8000
# Static files are served by whitenoise from the app itself (no CDN, no separate web server needed).
# Throw-away secrets for this one build step (production settings refuse to import without them);
# the running containers get theirs from .env through compose.
RUN eval "$(python manage.py generate_secrets --settings=config.settings.local)" \
 && SECRET_KEY=$SECRET_KEY BANK_CALLBACK_SECRET=$BANK_CALLBACK_SECRET RECEIPT_SIGNING_KEY=$RECEIPT_SIGNING_KEY \
    DATABASE_URL=sqlite:////tmp/build.sqlite3 python manage.py collectstatic --noinput -v0
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "4", "--threads", "4", \
     "--access-logfile", "-", "--max-requests", "5000", "--max-requests-jitter", "500"]
