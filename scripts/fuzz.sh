#!/usr/bin/env bash
# Runs each libFuzzer target of a fuzz build for a bounded time over its checked-in seed corpus.
#   scripts/fuzz.sh BUILD_DIR SECONDS
# BUILD_DIR was configured with -DSLUICE_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++-14 (its targets are
# built here when missing). New inputs go to a scratch corpus, never into fuzz/corpus/; a crash leaves
# its input in BUILD_DIR/fuzz/artifacts/ and makes the script fail.
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 BUILD_DIR SECONDS" >&2
  exit 2
fi
build_dir=$1
seconds=$2
root=$(cd "$(dirname "$0")/.." && pwd)
targets=(sigv4_fuzz aws_chunked_fuzz json_dispatch_fuzz s3_xml_fuzz)

ninja -C "$build_dir" "${targets[@]}" >/dev/null
artifacts="$build_dir/fuzz/artifacts"
mkdir -p "$artifacts"
status=0
for target in "${targets[@]}"; do
  scratch=$(mktemp -d)
  echo "fuzzing $target for ${seconds}s"
  # ASan's leak check stays on; -rss_limit_mb bounds memory, -max_len covers the 66 KiB seed.
  if ! "$build_dir/fuzz/$target" -max_total_time="$seconds" -max_len=70000 -rss_limit_mb=2048 -timeout=10 \
      -print_final_stats=1 -artifact_prefix="$artifacts/$target-" "$scratch" "$root/fuzz/corpus/$target" \
      >"$artifacts/$target.log" 2>&1; then
    echo "FAILED: $target (see $artifacts/$target.log)" >&2
    tail -n 40 "$artifacts/$target.log" >&2
    status=1
  else
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$artifacts/$target.log" | sed "s/^/  /"
  fi
  rm -rf "$scratch"
done
exit $status
