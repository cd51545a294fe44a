#!/usr/bin/env bash
# Runs a command RUNS times (default 3) in a row while one CPU-bound busy
# loop per core keeps every core occupied, and reports each run. The tests
# must not depend on an idle machine; this is how we check they do not.
# Usage: tools/under-load.sh make test
set -uo pipefail
runs=${RUNS:-3}
cores=$(nproc)
pids=()
stop() { [ ${#pids[@]} -gt 0 ] && kill "${pids[@]}" 2>/dev/null; }
trap stop EXIT INT TERM
for _ in $(seq "$cores"); do
  sh -c 'while :; do :; done' &
  pids+=($!)
done
echo "under-load: $cores busy loops on $cores cores; running '$*' $runs times"
failed=0
for i in $(seq "$runs"); do
  start=$(date +%s)
  if "$@"; then result=passed; else result=FAILED; failed=$((failed + 1)); fi
  echo "under-load: run $i of $runs $result in $(( $(date +%s) - start )) s"
done
echo "under-load: $((runs - failed)) of $runs runs passed"
[ "$failed" -eq 0 ]
