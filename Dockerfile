FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY scoring scoring
COPY streams streams
COPY alerts alerts
COPY deploy deploy
RUN pip install --no-cache-dir .
USER nobody
ENTRYPOINT []
