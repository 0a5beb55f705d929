#!/usr/bin/env bash
# The ABI check: the exported symbols of libpii.so and the sizes of the public structs and
# enum, against the checked-in abi/pii.abi (recorded with the version they belong to).
#
#   scripts/abi.sh [LIB]           check (default target/release/libpii.so); exit 1 on a change
#   scripts/abi.sh --write [LIB]   record the current ABI; refused when the change needs a
#                                  version bump that Cargo.toml does not have yet
#
# Policy (README "Versioning"): removing or changing a symbol, or changing a public struct's
# size, bumps the major version (and the soname libpii.so.<major>); adding symbols bumps the
# minor version. Only pii_* symbols may be exported.
set -euo pipefail
cd "$(dirname "$0")/.."
write=0
[ "${1:-}" = "--write" ] && { write=1; shift; }
lib=${1:-target/release/libpii.so}
record=abi/pii.abi
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

current() {
    echo "version $version"
    nm -D --defined-only "$lib" | awk '{print "symbol " $3}' | sort
    cat > "$tmp/sizes.c" <<'C'
#include <stdio.h>
#include "pii.h"
int main(void) {
    printf("sizeof pii_options %zu\n", sizeof(pii_options));
    printf("sizeof pii_error %zu\n", sizeof(pii_error));
    printf("sizeof pii_span %zu\n", sizeof(pii_span));
    printf("sizeof pii_status %zu\n", sizeof(pii_status));
    printf("sizeof pii_word_span %zu\n", sizeof(pii_word_span));
    printf("sizeof pii_redaction %zu\n", sizeof(pii_redaction));
    printf("sizeof pii_stream_options %zu\n", sizeof(pii_stream_options));
    printf("sizeof pii_released_word %zu\n", sizeof(pii_released_word));
    printf("sizeof pii_release %zu\n", sizeof(pii_release));
    return 0;
}
C
    cc -std=c11 -Iinclude "$tmp/sizes.c" -o "$tmp/sizes" && "$tmp/sizes"
}
current > "$tmp/now"

bad=$(grep '^symbol ' "$tmp/now" | grep -v '^symbol pii_' || true)
if [ -n "$bad" ]; then
    echo "abi: exported symbols outside pii_*:"; echo "$bad"; exit 1
fi
if [ ! -f "$record" ]; then
    [ $write = 1 ] && { cp "$tmp/now" "$record"; echo "abi: recorded $record"; exit 0; }
    echo "abi: no $record: run scripts/abi.sh --write"; exit 1
fi

old_version=$(sed -n 's/^version //p' "$record")
# Names (symbols, and structs by name) that went away or came, and structs whose size changed.
names() { grep -E '^(symbol|sizeof) ' "$1" | awk '{print $1 " " $2}' | sort; }
removed=$(comm -23 <(names "$record") <(names "$tmp/now") || true)
added=$(comm -13 <(names "$record") <(names "$tmp/now") || true)
resized=$(join <(grep '^sizeof ' "$record" | awk '{print $2, $3}' | sort) <(grep '^sizeof ' "$tmp/now" | awk '{print $2, $3}' | sort) \
    | awk '$2 != $3 {print $1 ": " $2 " -> " $3}' || true)
need=none
[ -n "$added" ] && need=minor
[ -n "$removed$resized" ] && need=major
bumped=none
IFS=. read -r oM om _ <<< "$old_version"
IFS=. read -r nM nm _ <<< "$version"
if [ "$nM" != "$oM" ]; then bumped=major; elif [ "$nm" != "$om" ]; then bumped=minor; fi

report() {
    [ -n "$removed" ] && { echo "  removed:"; echo "$removed" | sed 's/^/    /'; }
    [ -n "$added" ] && { echo "  added:"; echo "$added" | sed 's/^/    /'; }
    [ -n "$resized" ] && { echo "  struct sizes (recorded -> now):"; echo "$resized" | sed 's/^/    /'; }
    return 0
}
allowed() { # does the version bump cover the change?
    case $need in
        none) return 0 ;;
        minor) [ $bumped != none ] ;;
        major) [ $bumped = major ] ;;
    esac
}
if [ $write = 1 ]; then
    if ! allowed; then
        echo "abi: the ABI changed ($need change) but the version is $version (recorded $old_version): bump the $need version in Cargo.toml and src/ffi.rs first"
        report; exit 1
    fi
    cp "$tmp/now" "$record"; echo "abi: recorded $record ($version)"; exit 0
fi
if ! cmp -s "$tmp/now" "$record"; then
    if allowed; then
        echo "abi: $record is stale ($old_version -> $version): run scripts/abi.sh --write"
    else
        echo "abi: the ABI changed without a version change: needs a $need version bump (now $version)"
    fi
    report; exit 1
fi
echo "abi: $lib matches $record ($version: $(grep -c '^symbol ' "$record") symbols, struct sizes)"
