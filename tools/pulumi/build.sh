#!/bin/sh
# `make pulumi`: the Pulumi CLI for labnet's Automation API engine. Prints the CLI's absolute path as
# its last line (callers take it with `tail -n 1`).
#
# 1. a `pulumi` on PATH is used as it is (the user's own install);
# 2. else the CLI built here before, at the version go.mod pins, is reused (its version is checked);
# 3. else it is built from its Go module, through the Go module proxy, from this wrapper module
#    (go.mod pins github.com/pulumi/pulumi/pkg/v3; the pulumi Python SDK is pinned in requirements.txt
#    and the CLI is the nearest version the proxy serves), version-stamped, into .tools/ (ignored).
#    Go's own build cache makes a rebuild after a clean fast; a cold build takes minutes.
#
# LABNET_PULUMI_BUILD=1 skips step 1 (build even when a pulumi is on PATH); LABNET_TOOLS_DIR puts the
# build elsewhere than .tools/.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
version=$(awk '$1 == "github.com/pulumi/pulumi/pkg/v3" || $2 == "github.com/pulumi/pulumi/pkg/v3" {print $NF}' "$here/go.mod" | head -n 1)
case "$version" in v3.*) ;; *) echo "tools/pulumi/go.mod names no github.com/pulumi/pulumi/pkg/v3 version" >&2; exit 1 ;; esac
# bin/pulumi: the layout the Automation API's PulumiCommand(root=...) expects (labnet finds it there).
out="${LABNET_TOOLS_DIR:-$root/.tools}/pulumi-$version/bin/pulumi"

if [ "${LABNET_PULUMI_BUILD:-}" != 1 ] && found=$(command -v pulumi 2>/dev/null); then
    echo "pulumi on PATH: $("$found" version 2>/dev/null || echo 'version unknown')" >&2
    echo "$found"
    exit 0
fi

if [ -x "$out" ] && [ "$("$out" version 2>/dev/null)" = "$version" ]; then
    echo "pulumi $version already built" >&2
    echo "$out"
    exit 0
fi

if ! command -v go >/dev/null 2>&1; then
    cat >&2 <<MSG
The pulumi CLI is not on PATH and Go is not installed to build it.
Install the CLI the usual way, then run make pulumi again:
    curl -fsSL https://get.pulumi.com | sh        (or: brew install pulumi/tap/pulumi)
and put it on PATH (the installer uses ~/.pulumi/bin). Or install Go (https://go.dev/dl/) and
make pulumi builds pulumi $version from its Go module.
MSG
    exit 1
fi

echo "building pulumi $version from its Go module (a cold build takes several minutes)" >&2
mkdir -p "$(dirname "$out")"
started=$(date +%s)
# The version is stamped the way pulumi's own release build stamps it, so `pulumi version` and the
# Automation API's minimum-version check see $version rather than a development version.
(cd "$here" && go build -buildvcs=false \
    -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$version" \
    -o "$out.partial" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
got=$("$out.partial" version)
if [ "$got" != "$version" ]; then
    echo "the built CLI reports version $got, not $version" >&2
    exit 1
fi
mv "$out.partial" "$out"
echo "built pulumi $version in $(( $(date +%s) - started ))s" >&2
echo "$out"
