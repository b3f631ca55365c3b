#!/usr/bin/env bash
# Lists every Go fuzz target as ./pkg:FuzzName, except the four network
# parsers that `make fuzz` runs longer by name.
set -euo pipefail
cd "$(dirname "$0")/.."
long='^(FuzzReadRequest|FuzzParseTransport|FuzzParseAuthorization|FuzzReceive)$'
git ls-files '*_test.go' | while read -r f; do
	# A test file without fuzz targets is not an error.
	{ grep -oE '^func (Fuzz[A-Za-z0-9_]+)\(' "$f" || true; } | sed -E 's/^func (Fuzz[A-Za-z0-9_]+)\(/\1/' | while read -r fn; do
		[[ $fn =~ $long ]] && continue
		echo "./$(dirname "$f"):$fn"
	done
done | sort -u
