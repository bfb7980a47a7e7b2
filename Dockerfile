FROM python:3.12-slim
RUN apt-get update && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 \
    && rm -rf /var/lib/apt/lists/* && pip install --no-cache-dir uv
WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project
COPY . .
ENV PATH="/app/.venv/bin:$PATH" DULY_ENV=production PYTHONUNBUFFERED=1
RUN SECRET_KEY=build ALLOWED_HOSTS=build DULY_SECRETS_KEYS=build DATABASE_URL=postgres://build/build \
    REDIS_URL=redis://build python manage.py collectstatic --noinput
EXPOSE 8000
CMD ["bin/serve", "--http-socket", "0.0.0.0:8000"]
