#!/usr/bin/env bash
# Point-in-time restore of the service's Postgres (work in progress: the restore itself lands next).
set -euo pipefail
echo "pitr.sh: not implemented yet" >&2
exit 2
