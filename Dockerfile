# darkwatch crawler image: non-root, read-only root filesystem friendly (state in a volume).
#   docker build -t darkwatch:local .      (or: cd deploy && docker compose build)
# The install steps are scripts/setup.sh's (venv, upgrade pip, pip install the project), without
# the editable flag and the test extras; tests/ops checks that the two stay in step.

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY crawler ./crawler
# Not lab/ (fixture forums, the private Tor lab: a distribution of its own, never in the image).
# crawler/rulepacks is a symlink to ../rules: the packs must be here for the wheel to carry them.
COPY rules ./rules
RUN python -m venv /opt/darkwatch/.venv
RUN /opt/darkwatch/.venv/bin/pip install -q --upgrade pip
RUN /opt/darkwatch/.venv/bin/pip install -q .

FROM python:3.11-slim
ENV PATH=/opt/darkwatch/.venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/var/lib/darkwatch \
    DARKWATCH_STATE=/var/lib/darkwatch \
    DARKWATCH_CONFIG=/etc/darkwatch/darkwatch.yml
RUN groupadd --system --gid 10001 darkwatch \
 && useradd --system --uid 10001 --gid darkwatch --home-dir /var/lib/darkwatch \
      --shell /usr/sbin/nologin darkwatch \
 && install -d -o darkwatch -g darkwatch -m 0700 /var/lib/darkwatch \
 && install -d -m 0755 /etc/darkwatch
COPY --from=build /opt/darkwatch/.venv /opt/darkwatch/.venv
COPY rules /opt/darkwatch/rules
COPY --chmod=0755 deploy/compose/darkwatch-entrypoint.sh /usr/local/bin/darkwatch-entrypoint
USER darkwatch
WORKDIR /var/lib/darkwatch
VOLUME ["/var/lib/darkwatch"]
HEALTHCHECK --interval=5m --timeout=30s --start-period=2m --retries=3 \
  CMD ["darkwatch-entrypoint", "health"]
ENTRYPOINT ["darkwatch-entrypoint"]
CMD ["loop"]
