#!/usr/bin/env bash
# Bring the whole system up on the embedded defaults: web on 127.0.0.1:${OMS_PORT:-8000}, a
# Celery worker on every queue, Celery beat. Ctrl-C (or SIGTERM) stops all three cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
VAR="${OMS_VAR_DIR:-var}"
mkdir -p "$VAR/log"
# /metrics sums the files of live processes (prometheus_client multiprocess mode): none left from a last run.
rm -rf "${PROMETHEUS_MULTIPROC_DIR:-$VAR/metrics}"
pids=()
stop() {
    trap - EXIT INT TERM
    # Only the main processes: the worker then shuts its own pool down (a warm shutdown).
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
}
trap stop EXIT INT TERM
# The local fake Shippo (no internet): labels, rates and tracking for the demo tenant's Shippo
# account; every ${OMS_SHIPPO_ADVANCE_SECONDS:-60} s each bought label's parcel moves one step
# (pre-transit, transit, delivered) and a track_updated webhook is POSTed to the account.
shippo_args=(--port "${OMS_SHIPPO_PORT:-8025}" --auto-advance "${OMS_SHIPPO_ADVANCE_SECONDS:-60}")
if [ -s "$VAR/shippo-webhook-path.txt" ]; then
    shippo_args+=(--webhook-url "http://127.0.0.1:${OMS_PORT:-8000}$(head -n1 "$VAR/shippo-webhook-path.txt")")
fi
$PY -m integrations.shippo.fake_server "${shippo_args[@]}" >"$VAR/log/shippo.log" 2>&1 &
pids+=($!)
# The local fake marketplaces (integrations/demo.py wrote each one's arguments): each makes a demo
# order every ${OMS_DEMO_ORDER_SECONDS:-45} s and shows its state on a page at its own address.
WEB="http://127.0.0.1:${OMS_PORT:-8000}"
fakes=()
for args_file in "$VAR"/fakes/*.args; do
    [ -e "$args_file" ] || continue
    kind="$(basename "$args_file" .args)"
    mapfile -t fake_args <"$args_file"
    fake_args=("${fake_args[@]//\{web\}/$WEB}")
    $PY -m "integrations.$kind.fake_server" "${fake_args[@]}" >"$VAR/log/$kind.log" 2>&1 &
    pids+=($!)
    fakes+=("$kind")
done
# The worker keeps its database connection between tasks: opening one costs about 5 ms on
# SQLite (the schema is read again), as much as a short task. runserver keeps Django's default
# (a connection per request): it serves each request on a new thread.
DB_CONN_MAX_AGE="${DB_CONN_MAX_AGE:-600}" $PY -m celery -A oms worker -Q default,ingest,allocation,labels,sync,notifications -c 2 \
    --without-mingle --without-gossip --loglevel INFO >"$VAR/log/worker.log" 2>&1 &
pids+=($!)
$PY -m celery -A oms beat --schedule "$VAR/celerybeat-schedule" --loglevel INFO >"$VAR/log/beat.log" 2>&1 &
pids+=($!)
cat <<TXT

  OMS is up.
    admin:     http://127.0.0.1:${OMS_PORT:-8000}/admin/
    login:     demo@example.com / demo-pass-2026
    API docs:  http://127.0.0.1:${OMS_PORT:-8000}/api/v1/docs/
    API key:   $(cat "$VAR/demo-api-key.txt" 2>/dev/null || echo "see $VAR/demo-api-key.txt")
    health:    http://127.0.0.1:${OMS_PORT:-8000}/health
    Shippo:    http://127.0.0.1:${OMS_SHIPPO_PORT:-8025}/_control/state (a local fake)
    channels:  ${fakes[*]:-none} (local fakes; each one's port and page: $VAR/log/<channel>.log)
    logs:      $VAR/log/worker.log, $VAR/log/beat.log, $VAR/log/shippo.log

TXT
$PY manage.py runserver "127.0.0.1:${OMS_PORT:-8000}" &
pids+=($!)
wait -n "${pids[@]}" || true
