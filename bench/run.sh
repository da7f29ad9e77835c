#!/usr/bin/env bash
# Runs every benchmark against BUILD_DIR and prints the figures for bench/RESULTS.md.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
bench/extract_batch.sh "$build" 20
bench/stop_latency.sh "$build" 5
"$build/bench/process_bench" 1000000 both 3
"$build/bench/catalog_bench" 1000
"$build/bench/delivery_bench" 1000000 2
bench/ingest_bench.sh "$build" 5
bench/e2e_latency.py "$build" 30
bench/extract_memory.sh "$build" 200
# 20 visuals over 1,000,000 rows in Chromium: first render and refresh (needs scripts/setup.sh's chromium).
node bench/dashboard_bench.mjs "$build"
# The soak takes 10 minutes (mixed load, kill -9 every minute).
bench/soak.py "$build" 10 60
