#!/usr/bin/env bash
# What `npm test` needs besides node_modules, installed when missing: on a fresh Debian machine with only
# Node and npm there, `npm install && npm test` must pass by itself. The first step of scripts/test-all.mjs.
#   - Chromium at /usr/bin/chromium (the E2E suites; UAE_CHROMIUM points elsewhere and skips it)
#   - Debian's python3 with torch, onnx, numpy, pytest (the models suite), flake8 (the Python lint), and OpenBLAS (torch's BLAS)
# Prints "nothing to install" or each package it installs; exits non-zero, naming what is missing, when it
# cannot install (no apt-get, not root and no sudo, or the install failed).
set -euo pipefail

APT_PACKAGES=(python3-torch python3-onnx python3-numpy python3-pytest python3-flake8 libopenblas0-pthread)
if [ -z "${UAE_CHROMIUM:-}" ]; then APT_PACKAGES=(chromium "${APT_PACKAGES[@]}"); fi

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'; }

if ! command -v dpkg-query >/dev/null; then
  echo "test deps: not a Debian system (no dpkg-query); make sure ${APT_PACKAGES[*]} (or their equivalents) are installed" >&2
  exit 0
fi

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  installed "$pkg" || missing+=("$pkg")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "test deps: nothing to install (${APT_PACKAGES[*]} present)"
  exit 0
fi

echo "test deps: installing ${missing[*]} with apt-get (the E2E suites need Chromium, the models suite python3-torch/onnx/pytest)"
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null; then
    echo "test deps: cannot install ${missing[*]}: need root or sudo (or install them yourself: apt-get install -y ${missing[*]})" >&2
    exit 1
  fi
  SUDO=(sudo)
fi
if ! command -v apt-get >/dev/null; then
  echo "test deps: cannot install ${missing[*]}: no apt-get" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if ! "${SUDO[@]}" apt-get update -q; then
  echo "test deps: install failed: apt-get update" >&2; exit 1
fi
if ! "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"; then
  echo "test deps: install failed: apt-get install ${missing[*]}" >&2; exit 1
fi
for pkg in "${missing[@]}"; do
  installed "$pkg" || { echo "test deps: install failed: $pkg still not installed" >&2; exit 1; }
done
echo "test deps: installed ${missing[*]}"
