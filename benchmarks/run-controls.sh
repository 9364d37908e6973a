#!/bin/bash
# Wall and CPU time of `logpersist run` over 1,000,000 lines, without and with line controls, alternating.
tool=${TOOL:-$(dirname "$0")/../}src/LogPersist.Cli/bin/Release/net10.0/LogPersist.Cli.dll
child="awk 'BEGIN { for (i = 0; i < 1000000; i++) { if (i % 10 == 0) printf \"INFO:root:request %09d user=ana password=hunter2 ok\\n\", i; else printf \"DEBUG:root:step %09d of the work at hand, nothing to see here\\n\", i } }'"
for round in 1 2 3; do
  for mode in plain controls redact; do
    root=$(mktemp -d)
    extra=()
    if [ $mode = controls ]; then extra=(--sample debug=0.1 --drop healthz --redact 'password\=[^\s"]+'); fi
    if [ $mode = redact ]; then extra=(--redact 'password\=[^\s"]+'); fi
    /usr/bin/time -f "round $round $mode: %e s wall, %U s user, %S s sys, %M KiB" -a -o "${OUT:-/dev/stderr}" dotnet $tool run --directory $root --service bench --instance r "${extra[@]}" -- /bin/sh -c "$child" > /dev/null
    rm -rf $root
  done
done
