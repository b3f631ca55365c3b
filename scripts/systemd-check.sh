#!/usr/bin/env bash
# Checks systemd/camagent.service without a running systemd:
#   - systemd-analyze verify (with ExecStart pointed at a freshly built
#     binary: verify insists the executable exists);
#   - systemd-analyze security --offline=true: the exposure score is printed
#     and must be at most MAX_EXPOSURE;
#   - packaging/camagent.default lists every CAMAGENT_ variable that
#     `camagent -help` knows, and no other.
set -euo pipefail
cd "$(dirname "$0")/.."
MAX_EXPOSURE=${MAX_EXPOSURE:-2.0}
GO=${GO:-go}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
CGO_ENABLED=0 $GO build -o "$tmp/camagent" ./cmd/camagent
sed "s#^ExecStart=/usr/bin/camagent#ExecStart=$tmp/camagent#" systemd/camagent.service >"$tmp/camagent.service"
grep -q "^ExecStart=$tmp/camagent" "$tmp/camagent.service" || { echo "systemd-check: no ExecStart=/usr/bin/camagent in the unit" >&2; exit 1; }

out=$(systemd-analyze verify "$tmp/camagent.service" 2>&1) || { echo "$out" >&2; echo "systemd-check: verify failed" >&2; exit 1; }
if [ -n "$out" ]; then
	echo "$out" >&2
	echo "systemd-check: verify printed warnings" >&2
	exit 1
fi
echo "systemd-check: systemd-analyze verify: ok"

sec=$(systemd-analyze security --offline=true --no-pager "$tmp/camagent.service" 2>&1) || true
score=$(printf '%s\n' "$sec" | sed -nE 's/.*Overall exposure level for camagent\.service: ([0-9.]+).*/\1/p')
if [ -z "$score" ]; then
	echo "$sec" >&2
	echo "systemd-check: no exposure score in systemd-analyze security's output" >&2
	exit 1
fi
printf '%s\n' "$sec" | grep '✗' || true
echo "systemd-check: exposure score $score (limit $MAX_EXPOSURE)"
awk -v s="$score" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(s <= m) }' || { echo "systemd-check: exposure $score is over $MAX_EXPOSURE" >&2; exit 1; }

help=$("$tmp/camagent" -help 2>&1 | grep -oE '\(CAMAGENT_[A-Z0-9_]+\)' | tr -d '()' | sort -u)
listed=$(grep -oE '^#?CAMAGENT_[A-Z0-9_]+=' packaging/camagent.default | tr -d '#=' | sort -u)
missing=$(comm -23 <(echo "$help") <(echo "$listed"))
extra=$(comm -13 <(echo "$help") <(echo "$listed"))
if [ -n "$missing$extra" ]; then
	[ -z "$missing" ] || echo "systemd-check: packaging/camagent.default lacks:" $missing >&2
	[ -z "$extra" ] || echo "systemd-check: packaging/camagent.default lists unknown:" $extra >&2
	exit 1
fi
echo "systemd-check: packaging/camagent.default lists all $(echo "$help" | wc -l) settings"
