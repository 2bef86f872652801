# banditd service image. Build: docker build -t banditd .   Run: see docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    NUMBA_CACHE_DIR=/var/cache/banditd/numba

WORKDIR /src
# The client package first: it changes less often than the service, so its layer is reused.
COPY clients/python /src/clients/python
RUN pip install /src/clients/python
COPY pyproject.toml README.md /src/
COPY bandit_service /src/bandit_service
COPY policies /src/policies
RUN pip install /src \
    && useradd --system --uid 10001 --home-dir /var/lib/banditd banditd \
    && mkdir -p "$NUMBA_CACHE_DIR" /var/lib/banditd \
    # Compile the numba kernels into the image, so a container is ready in about a second.
    && python -c "import policies; policies.warm_up()" \
    && chown -R banditd "$NUMBA_CACHE_DIR" /var/lib/banditd

USER banditd
WORKDIR /var/lib/banditd
# Inside the container the service must listen on all interfaces; publish the port on the
# host's loopback only (docker-compose.yml does) unless you put it behind your own network policy.
ENV BANDITD_LISTEN=0.0.0.0:50051 \
    BANDITD_DATA_DIR=/var/lib/banditd
EXPOSE 50051
HEALTHCHECK --interval=5s --timeout=3s --start-period=30s --retries=3 \
    CMD ["banditd", "health", "--target", "127.0.0.1:50051"]
ENTRYPOINT ["banditd"]
CMD ["serve"]
