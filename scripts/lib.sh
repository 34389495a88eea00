# lib.sh: what the shell entry points share.  Sourced, never run.
#
# ARENALAB_ROOT   the repository (this file's parent's parent)
# al_ensure_setup installs missing packages (scripts/setup), quietly when
#                 nothing is missing
# al_bazel        runs bazel from the repository with the quiet flags

ARENALAB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

al_ensure_setup() {
  "$ARENALAB_ROOT/scripts/setup" --check 2>/dev/null || "$ARENALAB_ROOT/scripts/setup"
}

al_bazel() {
  local verb=$1; shift
  (cd "$ARENALAB_ROOT" && bazel "$verb" --noshow_progress --ui_event_filters=-info,-debug "$@")
}
