# Build stage: the engine compiled by mypyc (setup.py, LEADTEMP_COMPILE=1) needs a C
# compiler, mypy, and leadtemp's dependencies (mypy type-checks the engine against them,
# hence `pip install .` first); the image itself only installs the resulting wheel.
FROM python:3.11 AS build
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY scoring scoring
COPY streams streams
COPY alerts alerts
COPY gateway gateway
COPY toolkit toolkit
COPY devstack devstack
COPY cli cli
RUN pip install --no-cache-dir "mypy>=1.11" "setuptools>=77" types-pyyaml . \
 && LEADTEMP_COMPILE=1 pip wheel --no-cache-dir --no-build-isolation --no-deps -w /wheels .

FROM python:3.11-slim
WORKDIR /app
COPY --from=build /wheels /wheels
COPY deploy deploy
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER nobody
ENTRYPOINT []
