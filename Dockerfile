# syntax=docker/dockerfile:1
# Podvisor's three images, native (NativeAOT) binaries on Debian 12:
#   docker build --target operator -t ghcr.io/podvisor/operator:TAG .
#   docker build --target launcher -t ghcr.io/podvisor/launcher:TAG .
#   docker build --target node-agent -t ghcr.io/podvisor/node-agent:TAG .
# CI has no container engine: scripts/publish runs the same publish commands as the build stage below, and the tests
# run what it publishes (the operator against the API server, the launcher in the emulated KVM host), so a build
# that would break an image fails CI.

FROM mcr.microsoft.com/dotnet/sdk:10.0-bookworm-slim AS build
# NativeAOT links with clang; the launcher's podvisor-copy helper is a static C program (gcc).
RUN apt-get update \
 && apt-get install -y --no-install-recommends clang zlib1g-dev gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN bash scripts/publish /out

# The operator: one static-ish binary, no shell needed, never root (the chart runs it as 65532, read-only root).
FROM debian:12-slim AS operator
RUN apt-get update \
 && apt-get install -y --no-install-recommends libssl3 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/operator/podvisor-operator /usr/bin/podvisor-operator
USER 65532:65532
ENTRYPOINT ["/usr/bin/podvisor-operator"]

# The launcher: the VMM in each VM's pod. It runs as the container's root without privileges: the pod gets /dev/kvm
# and /dev/net/tun as devices and, on the pod network, NET_ADMIN for its TAP device and NAT (ip, nft).
FROM debian:12-slim AS launcher
RUN apt-get update \
 && apt-get install -y --no-install-recommends libssl3 ca-certificates iproute2 nftables \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/launcher/podvisor-launcher /out/launcher/podvisor-copy /usr/bin/
ENTRYPOINT ["/usr/bin/podvisor-launcher"]

# The node agent (a DaemonSet): serves /dev/kvm and /dev/net/tun to the kubelet as extended resources. Root, to create
# its sockets in the kubelet's device-plugins directory; no privileges, no capabilities, the host's /dev read-only.
FROM debian:12-slim AS node-agent
COPY --from=build /out/node-agent/podvisor-node-agent /usr/bin/podvisor-node-agent
ENTRYPOINT ["/usr/bin/podvisor-node-agent"]
