#!/usr/bin/env bash
# Fuzzes every parser of untrusted input (fuzz/, see docs/fuzzing.md): builds all cargo-fuzz
# targets once, then runs each for FUZZ_SECONDS (default 30) from its kept corpus in
# fuzz/corpus/<target>/, and fails if any target crashes (the input is left in
# fuzz/artifacts/<target>/).
#
#   FUZZ_SECONDS=3600 scripts/fuzz.sh     # longer
#   FUZZ_TARGETS="grant scope" scripts/fuzz.sh
#   FUZZ_RSS_MB=2048                      # memory limit per target (libFuzzer -rss_limit_mb)
#   FUZZ_TIMEOUT=10                       # seconds one input may take before it counts as a hang
#   FUZZ_BUILD=dev                        # unoptimized targets: built in a fraction of the time,
#                                         # run slower (CI's bounded form: the kept corpus and a
#                                         # few seconds of new inputs per target)
#
# Stable Rust is enough: the targets are built without a sanitizer (`--sanitizer none`; the
# server forbids unsafe code, so libFuzzer's coverage, panics, debug assertions and overflow
# checks are what finds bugs). New inputs go to a scratch folder: the kept corpus only changes
# by hand (docs/fuzzing.md says how to grow and minimize it).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

seconds=${FUZZ_SECONDS:-30}
rss_mb=${FUZZ_RSS_MB:-2048}
timeout=${FUZZ_TIMEOUT:-10}

if ! have cargo-fuzz; then
  say "installing cargo-fuzz"
  cargo install --locked cargo-fuzz
fi

all_targets=$(cargo fuzz list --fuzz-dir fuzz)
targets=${FUZZ_TARGETS:-$all_targets}

start=$(date +%s)
build=${FUZZ_BUILD:-release}
triple=$(rustc -vV | sed -n 's/^host: //p')
case "$build" in
  release) build_flags=(); bin_dir=fuzz/target/$triple/release ;;
  dev) build_flags=(--dev); bin_dir=fuzz/target/$triple/debug ;;
  *) echo "FUZZ_BUILD is release or dev, not '$build'" >&2; exit 2 ;;
esac
say "building the fuzz targets ($build, debug assertions, no sanitizer)"
cargo fuzz build --fuzz-dir fuzz --sanitizer none ${build_flags[@]+"${build_flags[@]}"}
built=$(date +%s)

log_dir=fuzz/target/fuzz-logs
scratch=fuzz/target/fuzz-scratch
mkdir -p "$log_dir"

failed=()
summary=()
total_runs=0
for target in $targets; do
  [ -x "$bin_dir/$target" ] || { echo "no fuzz target '$target' (have: $(echo $all_targets))" >&2; exit 2; }
  say "fuzzing $target for ${seconds}s"
  mkdir -p "fuzz/corpus/$target" "fuzz/artifacts/$target"
  rm -rf "${scratch:?}/$target" && mkdir -p "$scratch/$target"
  log=$log_dir/$target.log
  set +e
  "$bin_dir/$target" "$scratch/$target" "fuzz/corpus/$target" \
    -max_total_time="$seconds" -rss_limit_mb="$rss_mb" -timeout="$timeout" \
    -print_final_stats=1 -artifact_prefix="fuzz/artifacts/$target/" >"$log" 2>&1 </dev/null
  status=$?
  set -e
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1 || true)
  took=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n 1 || true)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1 || true)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2 || true)
  total_runs=$(( total_runs + ${runs:-0} ))
  line=$(printf '%-22s %12s execs in %4ss (%s exec/s), coverage %s' "$target" "${runs:-?}" "${took:-?}" "${rate:-?}" "${cov:-?}")
  if [ "$status" -ne 0 ]; then
    failed+=("$target")
    line="$line  FAILED (exit $status)"
    echo "---- $target: last lines of $log" >&2
    tail -n 40 "$log" >&2
    ls -1 "fuzz/artifacts/$target" >&2 || true
  fi
  summary+=("$line")
  echo "$line"
done

end=$(date +%s)
say "fuzz summary: build $(( built - start ))s, fuzzing $(( end - built ))s, $total_runs executions"
printf '  %s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzzing found crashes in: ${failed[*]} (inputs in fuzz/artifacts/; reproduce with" \
       "$bin_dir/<target> <file>)" >&2
  exit 1
fi
say "no crashes in $(echo $targets | wc -w) targets"
