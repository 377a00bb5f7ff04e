# Tor client for the compose deployment: Debian's tor package, run as debian-tor.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends tor \
 && rm -rf /var/lib/apt/lists/* \
 && install -d -o debian-tor -g debian-tor -m 0700 /var/lib/tor
COPY deploy/compose/tor-entrypoint.sh /usr/local/bin/tor-entrypoint
USER debian-tor
VOLUME ["/var/lib/tor"]
EXPOSE 9050 9051
ENTRYPOINT ["/usr/local/bin/tor-entrypoint"]
