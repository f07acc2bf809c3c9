#!/usr/bin/env bash
# Installs what rhizoct needs on a Debian machine, then builds it. Safe to run again.
#   scripts/setup.sh          runtime: Vulkan driver (lavapipe where no GPU driver), npm packages, build
#   scripts/setup.sh --test   also the test peers: Debian's python3-torch, -zarr, -nibabel, -skimage,
#                             -tifffile, -scipy, -lxml, -vtk9, teem-apps (teem-unu, NRRD's reference
#                             implementation), chromium for the viewer's browser tests, and slurm-wlm
#                             + munge (a one-node SLURM the scale-out test starts in a temp folder)
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[[ "${1:-}" == "--test" ]] && want_test=1

SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null; then SUDO="sudo"; fi
fi
export DEBIAN_FRONTEND=noninteractive

apt_updated=0
apt_update() {
  if [[ $apt_updated -eq 0 ]]; then $SUDO apt-get update -q >/dev/null; apt_updated=1; fi
}

if command -v apt-get >/dev/null; then
  # Dawn needs a Vulkan driver. A GPU vendor's ICD is used when present; otherwise Mesa's lavapipe,
  # which must be newer than Debian 12 main's (22.3): take it from bookworm-backports.
  lvp_version=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
  vendor_icd=$(find /usr/share/vulkan/icd.d /etc/vulkan/icd.d -maxdepth 1 -name '*.json' -printf '%f\n' 2>/dev/null | grep -v -E 'lvp|radeon|intel|virtio|freedreno|broadcom|panfrost|asahi|nouveau|gfxstream|powervr' || true)
  if [[ -z "$vendor_icd" ]] && ! dpkg --compare-versions "${lvp_version:-0}" ge 24; then
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    if [[ "$codename" == "bookworm" ]]; then
      if [[ ! -f /etc/apt/sources.list.d/backports.list ]] && ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
        mirror=$(sed -n 's/^URIs: //p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
        mirror=${mirror:-http://deb.debian.org/debian}
        echo "deb $mirror bookworm-backports main" | $SUDO tee /etc/apt/sources.list.d/backports.list >/dev/null
      fi
      apt_update
      echo "setup: installing Mesa lavapipe (software Vulkan) from bookworm-backports"
      $SUDO apt-get install -y -q -t bookworm-backports mesa-vulkan-drivers >/dev/null
    else
      apt_update
      $SUDO apt-get install -y -q mesa-vulkan-drivers >/dev/null
    fi
  fi
  if [[ $want_test -eq 1 ]]; then
    pkgs=(python3-torch python3-zarr python3-nibabel python3-skimage python3-tifffile python3-scipy python3-lxml python3-vtk9 teem-apps chromium slurm-wlm munge)
    missing=()
    for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
    if [[ ${#missing[@]} -gt 0 ]]; then
      apt_update
      echo "setup: installing test peers: ${missing[*]}"
      $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
    fi
  fi
else
  echo "setup: no apt-get here; install a Vulkan driver (or Mesa lavapipe >= 24) yourself" >&2
fi

if [[ ! -d node_modules ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build
