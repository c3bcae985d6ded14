#!/bin/sh
# Picks the process this container runs; exec so signals reach Node directly.
set -e
command=${1:-api}
[ $# -gt 0 ] && shift
case "$command" in
  api) exec node services/api/src/main.ts "$@" ;;
  dispatcher) exec node services/dispatcher/src/main.ts "$@" ;;
  migrate) exec node packages/db/src/bin/migrate.ts "$@" ;;
  outbound) exec node services/cli/src/main.ts "$@" ;;
  *) echo "unknown command: $command (expected api, dispatcher, migrate or outbound)" >&2; exit 64 ;;
esac
