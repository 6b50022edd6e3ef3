# arena container image: one static binary, any role.
#   docker build -t arena:dev --build-arg VERSION=$(git describe --tags --always) .
#   docker run --rm -p 8080:8080 arena:dev serve --all --http-addr 0.0.0.0:8080
#   docker run --rm arena:dev serve --role=robot --brokers b-1.msk:9098 ...
# Configuration comes from /etc/arena/arena.yaml (mount it), ARENA_* and
# OPENAI_API_KEY in the environment, and flags. No shell, no package manager.

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
WORKDIR /etc/arena
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/arena"]
CMD ["serve", "--all", "--http-addr", "0.0.0.0:8080"]
