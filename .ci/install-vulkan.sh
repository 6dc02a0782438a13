#!/usr/bin/env bash
# Mesa's software Vulkan driver (lavapipe) for the webgpu backend's tests: Dawn needs Mesa ≥ 25,
# which Debian 12 has only in bookworm-backports (its own 22.3 gives Dawn a null adapter).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
if ! dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | grep -q '^25'; then
  if [ ! -f /etc/apt/sources.list.d/backports.sources ]; then
    # A copy of the main Debian stanza, for the backports suite.
    awk 'BEGIN{RS=""; ORS="\n\n"} NR==1' /etc/apt/sources.list.d/debian.sources |
      sed 's/^Suites:.*/Suites: bookworm-backports/' > /etc/apt/sources.list.d/backports.sources
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null
fi
