#!/usr/bin/env bash
# Screenshot of the real TensorBoard page for a run folder, as in the README:
#   bash benchmarks/screenshot_tensorboard.sh runs/bbc/run out.png [port]
# Needs `tensorboard` (the package's dependency) and headless Chromium
# (`apt-get install chromium`).
set -euo pipefail
logdir=$1
out=$2
port=${3:-6123}
# The four learning curves; any regex over the scalar tags works. The page
# is the SCALARS dashboard (its SVG charts render headless; the TIME SERIES
# page left its WebGL lines undrawn in Chromium here).
tags=${TAGS:-accuracy%7Cmasked_lm_loss%7Cnext_sentence_loss}
tensorboard=${TENSORBOARD:-tensorboard}
"$tensorboard" --logdir "$logdir" --port "$port" --host localhost \
    >/dev/null 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 60); do
    curl -sf "http://localhost:$port/data/environment" >/dev/null && break
    sleep 1
done
sleep 25  # TensorBoard reads the event files after it starts serving
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --window-size=1400,1000 --virtual-time-budget=90000 \
    --screenshot="$out" \
    "http://localhost:$port/?darkMode=false#scalars&tagFilter=$tags&_smoothingWeight=0.6"
echo "wrote $out"
