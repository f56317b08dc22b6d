# syntax=docker/dockerfile:1
#
# The drivetrain image: a static binary on distroless, running as a non-root
# user. Built by deploy/compose/docker-compose.yml; for Kubernetes build it,
# push it to your registry and set the image in deploy/k8s/statefulset.yaml:
#
#   docker build -t drivetrain:0.1.0 .
#
# A node serves /metrics, /healthz, /readyz and /status on port 18090 (with
# http_addr 0.0.0.0:18090) and keeps its Pebble state under
# /var/lib/drivetrain (mount a volume there).

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags="-s -w" -o /out/drivetrain ./cmd/drivetrain \
 && mkdir -p /out/state

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/drivetrain /usr/local/bin/drivetrain
# The state directory exists in the image, owned by the non-root user, so a
# fresh named volume mounted over it is writable.
COPY --from=build --chown=65532:65532 /out/state /var/lib/drivetrain
USER 65532:65532
# No DRIVETRAIN_* defaults here: environment variables override --config,
# so they would shadow the Kubernetes ConfigMap. Set http_addr to
# 0.0.0.0:18090 (DRIVETRAIN_HTTP_ADDR or the config file) to reach the port
# from outside the container; without a state_dir the state goes to
# ./drivetrain-state, inside the volume.
WORKDIR /var/lib/drivetrain
EXPOSE 18090
VOLUME ["/var/lib/drivetrain"]
ENTRYPOINT ["/usr/local/bin/drivetrain"]
CMD ["run"]
