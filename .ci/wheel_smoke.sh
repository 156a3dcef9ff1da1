#!/usr/bin/env bash
# The wheel, installed where the checkout cannot help: build it, install it into a venv outside
# the checkout, and from a folder outside it run `runs up` (the sign-in page and a static file
# must answer 200) and a flow from a script file (`runs flow-run ls` must show it COMPLETED).
#
#   .ci/wheel_smoke.sh            # venv /tmp/wv (kept between runs), RUNS_HOME /tmp/wvhome
#   WV=/tmp/other PORT=8800 .ci/wheel_smoke.sh
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
WV=${WV:-/tmp/wv}
HOME_DIR=${RUNS_HOME_DIR:-/tmp/wvhome}
PORT=${PORT:-8799}
WORK=$(mktemp -d /tmp/wheel_smoke.XXXXXX)
SERVER_PID=

log() { printf '\n==> %s\n' "$*"; }
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.2; done
    kill -KILL -- "-$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

log "build the wheel"
python -c "import build" 2>/dev/null || python -m pip install -q build
python -m build --wheel --outdir "$WORK/dist" "$REPO" >"$WORK/build.log" 2>&1 \
  || { cat "$WORK/build.log"; exit 1; }
WHEEL=$(ls "$WORK"/dist/runs-*.whl)
echo "$WHEEL"
files=$(python -m zipfile -l "$WHEEL")
for needed in runs/templates/runs/base.html runs/templates/runs/login.html \
  runs/static/runs/app.css runs/migrations/0001_initial.py runs_limits/migrations/0001_initial.py \
  runs_project/settings.py; do
  grep -q " *$needed " <<<"$files" || grep -q "^$needed" <<<"$files" \
    || { echo "missing from the wheel: $needed"; exit 1; }
done

log "install it into $WV (outside the checkout)"
[ -x "$WV/bin/python" ] || python -m venv "$WV"
pip_install() {  # quiet unless it fails (pip's cache is kept: later runs download nothing)
  "$WV/bin/python" -m pip install -q "$@" >"$WORK/pip.log" 2>&1 || { cat "$WORK/pip.log"; exit 1; }
}
pip_install --force-reinstall --no-deps "$WHEEL"
pip_install "$WHEEL"  # its dependencies, the first time
cd "$WORK"
"$WV/bin/python" - <<'PY'
import pathlib, runs, runs_limits, runs_project
for module in (runs, runs_limits, runs_project):
    assert "site-packages" in module.__file__, module.__file__
assert (pathlib.Path(runs.__file__).parent / "templates/runs/base.html").is_file()
print("imports from", pathlib.Path(runs.__file__).parent.parent)
PY

log "runs up on port $PORT, RUNS_HOME=$HOME_DIR"
rm -rf "$HOME_DIR"
export RUNS_HOME=$HOME_DIR
unset DJANGO_SETTINGS_MODULE DATABASE_URL CELERY_BROKER_URL
setsid "$WV/bin/runs" up --port "$PORT" --concurrency 1 --web-workers 1 >"$WORK/up.log" 2>&1 &
SERVER_PID=$!
code=000
for _ in $(seq 1 150); do
  code=$(curl -s -o "$WORK/login.html" -w '%{http_code}' "http://127.0.0.1:$PORT/login/" || true)
  [ "$code" = 200 ] && break
  kill -0 "$SERVER_PID" 2>/dev/null || break
  sleep 0.2
done
[ "$code" = 200 ] || { echo "login page: $code"; cat "$WORK/up.log"; exit 1; }
grep -q 'name="password"' "$WORK/login.html" || { echo "login page without its form"; exit 1; }
echo "GET /login/ -> $code"
css=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/static/runs/app.css")
[ "$css" = 200 ] || { echo "app.css: $css"; cat "$WORK/up.log"; exit 1; }
echo "GET /static/runs/app.css -> $css"
missing=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/flow-runs/00000000-0000-0000-0000-000000000000/")
echo "GET /flow-runs/<unknown>/ (anonymous) -> $missing"

log "a flow from a script file, with the venv's Python"
cat >"$WORK/smoke_flow.py" <<'PY'
from runs import flow, task


@task
def double(x: int) -> int:
    return 2 * x


@flow(name="wheel-smoke")
def wheel_smoke() -> int:
    return sum(double(i) for i in range(3))


if __name__ == "__main__":
    assert wheel_smoke() == 6
    print("wheel-smoke returned 6")
PY
"$WV/bin/python" "$WORK/smoke_flow.py"
listing=$("$WV/bin/runs" flow-run ls)
echo "$listing"
grep -iE "wheel-smoke .* completed " <<<"$listing" >/dev/null \
  || { echo "no COMPLETED wheel-smoke run in runs flow-run ls"; exit 1; }

log "stop runs up"
kill -TERM "$SERVER_PID"
for _ in $(seq 1 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.2; done
SERVER_PID=
echo "wheel smoke: OK"
