# Shared by the scripts: install what is missing, never what is there.

have() { command -v "$1" >/dev/null 2>&1; }

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif have sudo; then sudo "$@"; else
    echo "need root to run: $*" >&2; return 1
  fi
}

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing ${missing[*]} (apt)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

ensure_wasm_target() {
  rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown && return 0
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
}

ensure_nextest() {
  have cargo-nextest && return 0
  say "installing cargo-nextest"
  cargo install --locked cargo-nextest
}

ensure_python_module() {  # ensure_python_module <import name> <pip package>
  python3 -c "import $1" 2>/dev/null && return 0
  say "installing $2 (pip)"
  python3 -m pip install --quiet --disable-pip-version-check "$2"
}
