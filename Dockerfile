# Build: docker build -t tencentchat_exporter .
# Run:   docker run -p 9882:9882 -v $PWD/config.yml:/etc/tencentchat_exporter/config.yml tencentchat_exporter
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/prometheus/common/version.Version=${VERSION}" \
      -o /tencentchat_exporter .

FROM quay.io/prometheus/busybox:latest
COPY --from=build /tencentchat_exporter /bin/tencentchat_exporter
COPY config.example.yml /etc/tencentchat_exporter/config.example.yml
USER nobody
EXPOSE 9882
ENTRYPOINT ["/bin/tencentchat_exporter", "--config.file=/etc/tencentchat_exporter/config.yml"]
