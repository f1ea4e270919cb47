# syntax=docker/dockerfile:1
# Builds the single ezscale binary and runs it as a non-root user. Templates, static files and
# migrations are embedded, so the runtime image needs only the binary, CA certificates (for
# gateways, panels and SMTP over TLS), time zones, and curl for the compose healthcheck.

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.version=${VERSION}" -o /ezscale ./cmd/ezscale

FROM debian:trixie-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /nonexistent --shell /usr/sbin/nologin ezscale
COPY --from=build /ezscale /ezscale
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["/ezscale"]
CMD ["serve"]
