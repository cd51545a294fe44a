# Build: docker build --build-arg VERSION=$(cat VERSION) --build-arg REVISION=$(git rev-parse HEAD) -t tencentchat_exporter .
# Run:   docker run -p 9882:9882 -v $PWD/config.yml:/etc/tencentchat_exporter/config.yml:ro tencentchat_exporter
# Flags after the image name replace CMD (the default --config.file):
#        docker run ... tencentchat_exporter --config.file=/other.yml --log.level=debug
# The exporter runs as nobody (65534): mounted key files must be readable by
# it (for example mode 0444, or a Kubernetes Secret's defaultMode).
ARG GO_VERSION=1.26
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG TARGETOS=linux
ARG TARGETARCH=amd64
ARG VERSION=dev
ARG REVISION=unknown
ARG BRANCH=unknown
ARG BUILD_DATE=unknown
RUN CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} go build -trimpath -ldflags "-s -w \
      -X github.com/prometheus/common/version.Version=${VERSION} \
      -X github.com/prometheus/common/version.Revision=${REVISION} \
      -X github.com/prometheus/common/version.Branch=${BRANCH} \
      -X github.com/prometheus/common/version.BuildUser=docker \
      -X github.com/prometheus/common/version.BuildDate=${BUILD_DATE}" \
      -o /tencentchat_exporter .

FROM quay.io/prometheus/busybox:latest
COPY --from=build /tencentchat_exporter /bin/tencentchat_exporter
COPY config.example.yml /etc/tencentchat_exporter/config.example.yml
USER 65534
EXPOSE 9882
ENTRYPOINT ["/bin/tencentchat_exporter"]
CMD ["--config.file=/etc/tencentchat_exporter/config.yml"]
