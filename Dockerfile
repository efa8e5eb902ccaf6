# syntax=docker/dockerfile:1
#
# One image holds all four commands in /usr/local/bin: parley (the
# all-in-one, and the default entrypoint), edge, auth and archiver. A
# cluster picks one per Deployment with the container's command, as the
# Helm chart and the manifests in k8s/ do:
#
#   docker build --build-arg VERSION=v0.1.0 -t parley .
#   docker run --rm -p 8000:8000 -v parley-data:/data parley
#   docker run --rm --entrypoint /usr/local/bin/edge parley -h
#
# The final stage is distroless: no shell, no package manager, a non-root
# user, and static binaries built without cgo.

ARG GO_VERSION=1.26.8
ARG NODE_VERSION=22

# The web client, built once and embedded into the edge and the all-in-one.
FROM node:${NODE_VERSION}-bookworm-slim AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/index.html web/vite.config.js ./
COPY web/public/ public/
COPY web/scripts/ scripts/
COPY web/src/ src/
RUN npm run build

# The Go commands. Only the modules the commands import are downloaded:
# the go.mod also lists test-only modules (Helm, Kubernetes types) that
# the binaries never link.
FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
COPY cmd/ cmd/
COPY pkg/ pkg/
COPY web/embed.go web/
COPY --from=web /src/web/dist/ web/dist/
ARG VERSION=""
ENV CGO_ENABLED=0 GOFLAGS=-trimpath
RUN --mount=type=cache,target=/root/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    go build -ldflags="-s -w -X github.com/parley-chat/parley/pkg/metrics.Version=${VERSION}" \
      -o /out/ ./cmd/parley ./cmd/edge ./cmd/auth ./cmd/archiver

# The image. The nonroot variant runs as uid and gid 65532; /data is where
# the all-in-one keeps SQLite, JetStream and its key.
FROM gcr.io/distroless/static-debian12:nonroot AS image
COPY --from=build /out/ /usr/local/bin/
COPY --from=build --chown=65532:65532 /src/web/dist/.keep /data/.keep
ENV PARLEY_DATA_DIR=/data
USER 65532:65532
VOLUME ["/data"]
EXPOSE 8000 8001 8002
ENTRYPOINT ["/usr/local/bin/parley"]
