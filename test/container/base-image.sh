#!/usr/bin/env bash
# Makes sure the Dockerfile's base image, docker.io/library/node:20-bookworm-slim, is in podman's
# store. Kept by its tag between runs. Pulled where a registry is reachable; otherwise built here
# the way the official image is made: a Debian bookworm minbase rootfs from the Debian mirror,
# this machine's Node 20 and npm under /usr/local, and the non-root `node` user (uid 1000), so the
# same Dockerfile builds unchanged in both places.
#
#   CONTAINERS_CONF=test/container/containers.conf bash test/container/base-image.sh
set -euo pipefail

TAG=docker.io/library/node:20-bookworm-slim
MIRROR=${LOWBAND_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${LOWBAND_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}

# One build at a time on this machine: two test runs must not race for the same tag.
exec 9>/var/lock/lowband-node-base-image.lock
flock 9

if podman image exists "$TAG"; then exit 0; fi
if podman pull -q "$TAG" >/dev/null 2>&1; then echo "base image: pulled $TAG" >&2; exit 0; fi

node_bin=$(command -v node)
node_version=$("$node_bin" --version)
case "$node_version" in v20.*) ;; *) echo "base image: this machine's node is $node_version, not 20: cannot stand in for $TAG" >&2; exit 1 ;; esac
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
command -v mmdebstrap >/dev/null || { echo "base image: mmdebstrap is missing (apt-get install mmdebstrap)" >&2; exit 1; }

work=$(mktemp -d /var/tmp/lowband-base.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "base image: no registry reachable; building $TAG from $MIRROR with node $node_version" >&2
mmdebstrap --quiet --variant=minbase \
  --customize-hook="mkdir -p \"\$1/usr/local/bin\" \"\$1/usr/local/lib/node_modules\"" \
  --customize-hook="cp \"$node_bin\" \"\$1/usr/local/bin/node\"" \
  --customize-hook="cp -a \"$npm_dir\" \"\$1/usr/local/lib/node_modules/npm\"" \
  --customize-hook='ln -s ../lib/node_modules/npm/bin/npm-cli.js "$1/usr/local/bin/npm"' \
  --customize-hook='ln -s ../lib/node_modules/npm/bin/npx-cli.js "$1/usr/local/bin/npx"' \
  --customize-hook='chroot "$1" groupadd --gid 1000 node' \
  --customize-hook='chroot "$1" useradd --uid 1000 --gid node --shell /bin/bash --create-home node' \
  bookworm "$work/rootfs.tar" \
  "deb $MIRROR bookworm main" "deb $MIRROR bookworm-updates main" "deb $SECURITY_MIRROR bookworm-security main" </dev/null
podman import -q \
  --change "ENV NODE_VERSION=${node_version#v}" \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'LABEL org.lowband.base=local-standin' \
  --change 'CMD ["node"]' \
  "$work/rootfs.tar" "$TAG" >/dev/null
echo "base image: built $TAG" >&2
