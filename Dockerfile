# syntax=docker/dockerfile:1
# One image for every role: ENTRYPOINT is the yinzheng binary, so
#   docker build -t yinzheng .
#   docker run --rm yinzheng version
#   docker run -d -v yinzheng-verifier:/data -p 8080:8080 yinzheng \
#     serve verifier --dir /data/verifier --issuer-url https://issuer.example.cn --addr 0.0.0.0:8080 \
#     --platform /data/platform --api-token-file /data/api-token
# runs the verifier service. Details, and the issuer: README.md, "Deploying".

ARG GO_VERSION=1.26.8

FROM golang:${GO_VERSION} AS build
WORKDIR /src
# Modules first, so that a source change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# The build line below is also run by cmd/yinzheng's TestStaticBuildLikeDockerfile
# (docker is not needed for it), which checks that the result is static and
# that `version` runs: keep it on one line.
RUN CGO_ENABLED=0 go build -trimpath -ldflags=-buildid= -o /out/yinzheng ./cmd/yinzheng
RUN mkdir -p /out/data

# distroless/static: no shell, no package manager, CA certificates (for
# --issuer-url https://…) and time zone data; "nonroot" is uid 65532.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/yinzheng /usr/local/bin/yinzheng
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
# Issuer and verifier directories, and the circuit key cache, live here.
ENV YINZHENG_CACHE=/data/cache
VOLUME ["/data"]
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/yinzheng"]
CMD ["--help"]
