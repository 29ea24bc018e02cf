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

# What building the server needs from the system: OpenSSL's headers (webauthn-rs, openssl-sys)
# found through pkg-config.
ensure_build_deps() {
  apt_install libssl-dev pkg-config
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

# openid-client 6 (npm), the certified relying party the OAuth suite drives (tests/it/openid_client.rs).
ensure_openid_client() {
  local dir=tests/openid-client
  [ -f "$dir/node_modules/openid-client/package.json" ] && return 0
  say "installing openid-client (npm ci in $dir)"
  npm ci --silent --no-audit --no-fund --prefix "$dir" >&2
}

# The version of a crate in Cargo.lock (the first one listed).
lock_version() {
  awk -v name="$1" '$0 == "name = \"" name "\"" { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock
}

# wasm-bindgen-cli must match the wasm-bindgen crate of the lock file exactly.
ensure_wasm_bindgen() {
  local version; version=$(lock_version wasm-bindgen)
  if have wasm-bindgen && [ "$(wasm-bindgen --version | awk '{print $2}')" = "$version" ]; then return 0; fi
  say "installing wasm-bindgen-cli $version (a few minutes, once)"
  cargo install --quiet --force wasm-bindgen-cli --version "$version"
}

# wasm-opt from npm's binaryen (Debian's is too old for what rustc emits); prints its path.
ensure_wasm_opt() {
  local dir="${XDG_CACHE_HOME:-$HOME/.cache}/gatehouse/binaryen-132"
  if [ ! -x "$dir/node_modules/.bin/wasm-opt" ]; then
    if ! have npm; then say "no npm: the console is built without wasm-opt"; return 0; fi
    say "installing wasm-opt (npm binaryen@132)"
    npm install --silent --no-audit --no-fund --prefix "$dir" binaryen@132 >&2
  fi
  echo "$dir/node_modules/.bin/wasm-opt"
}

# Chromium and its WebDriver for the browser tests.
ensure_browser() {
  have chromedriver && (have chromium || have chromium-browser || have google-chrome) && return 0
  apt_install chromium chromium-driver
}
