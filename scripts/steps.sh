# Sourced by scripts/setup.sh: named steps that end with their duration, commands that are quiet
# unless they fail, and one line naming the failed step and its fix.
#   step NAME FIX   end the previous step ("    done (12 s)"), announce NAME, remember FIX
#   steps_done      end the last step and print the total time
#   quietly CMD...  CMD with its output in a log; when it fails, the log's last lines. Without a
#                   terminal (CI, a log file) a line every 30 s says it is still running
#                   (MACHINE_SETUP_HEARTBEAT_S changes the interval).
# Durations are rounded from milliseconds (bash 5's EPOCHREALTIME; whole seconds from SECONDS
# on an older bash), so a step that took 0.2 s never shows as 1 s because a second ticked over.
_now_ms() {
  if [ -n "${EPOCHREALTIME:-}" ]; then
    local t="${EPOCHREALTIME/[.,]/}"
    echo $((10#$t / 1000))
  else
    echo $((SECONDS * 1000))
  fi
}
_secs_since() { echo $((($(_now_ms) - $1 + 500) / 1000)); }
steps_started="$(_now_ms)"
step_name="starting"
step_fix="see the messages above"
step_started=""
failed_cmd=""

_step_end() {
  [ -n "$step_started" ] && echo "    done ($(_secs_since "$step_started") s)"
  step_started=""
}

step() {
  _step_end
  step_name="$1"
  step_fix="$2"
  step_started="$(_now_ms)"
  echo "==> $1"
}

steps_done() {
  _step_end
  echo "==> All done in $(_secs_since "$steps_started") s"
}

_step_on_error() {
  echo "${0##*/}: step \"$step_name\" failed (${failed_cmd:-$2} exited with $1): $step_fix" >&2
}
trap '_step_on_error $? "$BASH_COMMAND"' ERR

quietly() {
  local log status=0 ticker=""
  log="$(mktemp "${TMPDIR:-/tmp}/machine-setup.XXXXXX")"
  if [ ! -t 1 ]; then
    # In the background, while CMD runs in the foreground (where Ctrl-C reaches it). Its sleep
    # must not hold our stdout (a pipe reading this script would wait for it), and it ends by
    # itself should this script be gone.
    (
      every="${MACHINE_SETUP_HEARTBEAT_S:-30}" n=0
      while sleep "$every" </dev/null >/dev/null 2>&1 && kill -0 $$ 2>/dev/null; do
        n=$((n + every))
        echo "    … still running (${n}s): $*"
      done
    ) &
    ticker=$!
  fi
  "$@" >"$log" 2>&1 || status=$?
  if [ -n "$ticker" ]; then
    kill "$ticker" 2>/dev/null || true
    wait "$ticker" 2>/dev/null || true
  fi
  if [ "$status" -ne 0 ]; then
    {
      echo "---- $* (exit $status), last lines:"
      tail -n 20 "$log" | sed 's/^/    /'
      echo "---- whole output: $log"
    } >&2
    failed_cmd="$*"
    return "$status"
  fi
  rm -f "$log"
}
