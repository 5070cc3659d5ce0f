# lmtp-webhook container image: a static binary on an empty base.
#
#   docker build -t lmtp-webhook .
#   docker run -e WEBHOOK_URL=https://example.com/inbound -p 2424:2424 lmtp-webhook
#
# Build arguments:
#   GO_IMAGE       Go toolchain image for the build stage
#   RUNTIME_IMAGE  base of the final image; "scratch" (default) or any image
#                  without needs of its own, e.g.
#                  gcr.io/distroless/static-debian12:nonroot
#   VERSION        reported by -version, in User-Agent and in the logs
#
# Offline builds: put a vendor/ directory (go mod vendor) in the build
# context and the module download is skipped.

ARG GO_IMAGE=golang:1.27-bookworm
ARG RUNTIME_IMAGE=scratch

FROM ${GO_IMAGE} AS build
ENV CGO_ENABLED=0 GOFLAGS=-buildvcs=false
WORKDIR /src

# Modules get their own layer, so editing the source does not download them
# again. vendor/modules.txt is copied only if it exists; when it does, the
# build uses vendor/ and needs no network.
COPY go.mod go.sum vendor/modules.tx[t] ./
RUN if [ -f modules.txt ]; then \
      echo "vendor/ present: skipping go mod download"; rm modules.txt; \
    else \
      go mod download; \
    fi

COPY . .
# Compile both commands of the module into the build cache, in a step that
# examples/receiver/Dockerfile repeats word for word: building both images
# (docker compose) compiles the code once, and each image only links.
RUN go build -trimpath . ./examples/receiver

ARG VERSION=dev
RUN go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/lmtp-webhook . \
 && /out/lmtp-webhook -version

# What the runtime stage needs from a Debian system: CA certificates for
# https webhooks, and a passwd entry for the unprivileged user.
RUN mkdir -p /out/etc/ssl/certs \
 && cp /etc/ssl/certs/ca-certificates.crt /out/etc/ssl/certs/ \
 && printf '%s\n' \
      'root:x:0:0:root:/root:/sbin/nologin' \
      'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin' \
      'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' > /out/etc/passwd \
 && printf '%s\n' 'root:x:0:' 'nobody:x:65534:' 'nonroot:x:65532:' > /out/etc/group

FROM ${RUNTIME_IMAGE}
COPY --from=build /out/etc/ /etc/
COPY --from=build /out/lmtp-webhook /usr/local/bin/lmtp-webhook
USER 65532:65532
# Inside a container the servers must listen on all interfaces; the
# program's own defaults are loopback only.
ENV LMTP_LISTEN=0.0.0.0:2424 \
    HTTP_LISTEN=0.0.0.0:8080
EXPOSE 2424 8080
# The image has no shell and no curl: the binary asks its own /readyz.
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 \
  CMD ["/usr/local/bin/lmtp-webhook", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/lmtp-webhook"]
