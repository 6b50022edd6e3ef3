# arena container image: one static binary, any role.
#   docker build -t arena:dev --build-arg VERSION=$(git describe --tags --always) .
#   docker run --rm -p 8080:8080 -v arena-data:/data arena:dev      # serve --all
#   docker run --rm arena:dev serve --role=robot --brokers b-1.msk:9098 ...
# Configuration comes from /etc/arena/arena.yaml (mount it), ARENA_* and
# OPENAI_API_KEY in the environment, and flags. No shell, no package manager:
# the HEALTHCHECK is arena's own `arena healthcheck`. .dockerignore keeps .git,
# data/, bin/ and the tests out of the build context.

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/arena-hq/arena/app.version=${VERSION}" \
      -o /out/arena . \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/arena /usr/local/bin/arena
# The embedded broker's data (serve --all, arena broker); mount a volume.
COPY --from=build --chown=nonroot:nonroot /out/data /data
ENV ARENA_DATA_DIR=/data
# Every role listens on all interfaces inside the container; serve and
# healthcheck both read it, so -e ARENA_HTTP_ADDR=... moves both.
ENV ARENA_HTTP_ADDR=0.0.0.0:8080
# /metrics on its own port, for Prometheus: never publish it where players
# reach (its counters would tell them which seats are robots).
ENV ARENA_HTTP_ADMIN_ADDR=0.0.0.0:9090
WORKDIR /etc/arena
USER nonroot:nonroot
EXPOSE 8080 9090
# Liveness of whichever role runs, on http.addr (0.0.0.0 is dialled as 127.0.0.1).
# Readiness (--ready) is for load balancers and orchestrators, not for restarts.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["/usr/local/bin/arena", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/arena"]
CMD ["serve", "--all"]
