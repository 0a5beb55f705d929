#!/usr/bin/env bash
# libpii as an installed C library, tested from outside the checkout:
#   make install into a temporary prefix; SONAME, RUNPATH, soname links, only pii_* exported;
#   the ABI record (scripts/abi.sh); a C program built with only `pkg-config --cflags --libs pii`,
#   a static one with only `pkg-config --static ... pii-static`, the C++ example with only
#   find_package(pii), the Go tests with only PKG_CONFIG_PATH; `make uninstall` removes it all;
#   `make dist`: the archive holds exactly packaging/dist-contents.txt and works once moved.
# Programs and Go sources are copied to the temporary directory first, so nothing links to
# or reads the checkout's build. Each step runs in a subshell. Prints "--- PASS: install/<step>" or "--- FAIL: ..." per step.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
MAJOR=${VERSION%%.*}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
failures=0
# Nothing from the caller's environment points at the checkout.
unset PII_ORT_LIBRARY PKG_CONFIG_PATH LD_LIBRARY_PATH

step() {
    local name=$1
    shift
    if ( "$@" ) > "$tmp/step.log" 2>&1; then
        echo "--- PASS: install/$name"
    else
        echo "--- FAIL: install/$name"
        sed 's/^/    /' "$tmp/step.log" | tail -40
        failures=$((failures + 1))
    fi
}

text='my card is four two four two four two four two four two four two four two four two and i am priya sharma'

install_prefix() { make -s install PREFIX="$prefix"; }

elf_layout() {
    local lib=$prefix/lib
    readelf -d "$lib/libpii.so.$VERSION" | grep -q "Library soname: \[libpii.so.$MAJOR\]" || { echo "SONAME"; return 1; }
    readelf -d "$lib/libpii.so.$VERSION" | grep -q 'Library runpath: \[\$ORIGIN\]' || { echo "RUNPATH"; return 1; }
    [ "$(readlink "$lib/libpii.so")" = "libpii.so.$MAJOR" ] || { echo "libpii.so link"; return 1; }
    [ "$(readlink "$lib/libpii.so.$MAJOR")" = "libpii.so.$VERSION" ] || { echo "libpii.so.$MAJOR link"; return 1; }
    local others
    others=$(nm -D --defined-only "$lib/libpii.so.$VERSION" | awk '{print $3}' | grep -v '^pii_')
    [ -z "$others" ] || { echo "exported beside pii_*: $others"; return 1; }
    nm -D --defined-only "$lib/libpii.so.$VERSION" | grep -q ' pii_tag$'
}

abi_record() { ./scripts/abi.sh "$prefix/lib/libpii.so.$VERSION"; }

pc() { PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config "$@"; }

# The tag example prints each line redacted; the card and the name must be masked.
check_tagged() {
    grep -q '\[CREDIT_CARD\]' "$1" && grep -q '\[PERSON_NAME\]' "$1" || { cat "$1"; return 1; }
}

# tag_example DIR PKGCONFIG_DIR: build examples/c/tag.c in DIR with only
# `pkg-config --cflags --libs pii` from PKGCONFIG_DIR, and run it on the installed model.
tag_example() {
    mkdir -p "$1" && cp examples/c/tag.c "$1/" && cd "$1" || return 1
    # shellcheck disable=SC2046
    cc -std=c11 -O2 tag.c -o tag $(PKG_CONFIG_PATH=$2 pkg-config --cflags --libs pii) || return 1
    ldd ./tag | grep -q "libpii.so.$MAJOR => $(dirname "$2")/" || { ldd ./tag; return 1; }
    echo "$text" | ./tag "$(PKG_CONFIG_PATH=$2 pkg-config --variable=modeldir pii)" > out.txt || return 1
    check_tagged out.txt
}

c_shared() { tag_example "$tmp/c" "$prefix/lib/pkgconfig"; }

c_static() {
    cd "$tmp/c" || return 1
    # shellcheck disable=SC2046
    cc -std=c11 -O2 tag.c -o tag_static $(pc --cflags --libs --static pii-static) || return 1
    if readelf -d tag_static | grep -q 'NEEDED.*libpii'; then echo "links libpii.so"; return 1; fi
    echo "$text" | PII_ORT_LIBRARY=$(pc --variable=ortlibrary pii-static) ./tag_static "$(pc --variable=modeldir pii-static)" > out_static.txt || return 1
    check_tagged out_static.txt
}

cpp_cmake() {
    mkdir -p "$tmp/cpp" && cp examples/cpp/CMakeLists.txt examples/cpp/example.cpp "$tmp/cpp/"
    cmake -S "$tmp/cpp" -B "$tmp/cpp/build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release || return 1
    cmake --build "$tmp/cpp/build" || return 1
    "$tmp/cpp/build/example" "$prefix/share/pii/model" "$text" > "$tmp/cpp/out.txt" || return 1
    grep -q 'CREDIT_CARD' "$tmp/cpp/out.txt" && grep -q 'PERSON_NAME' "$tmp/cpp/out.txt" || { cat "$tmp/cpp/out.txt"; return 1; }
    # An older major version asked for must not be accepted.
    sed -i 's/find_package(pii [0-9.]*/find_package(pii 99.0/' "$tmp/cpp/CMakeLists.txt"
    if cmake -S "$tmp/cpp" -B "$tmp/cpp/build99" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null 2>&1; then
        echo "find_package(pii 99.0) accepted $VERSION"; return 1
    fi
}

go_tests() {
    command -v go >/dev/null || { echo "go not installed"; return 1; }
    mkdir -p "$tmp/go" && cp go/go.mod go/*.go "$tmp/go/" && cp -r tests/fixtures/tiny "$tmp/fixture"
    cd "$tmp/go" || return 1
    PKG_CONFIG_PATH=$prefix/lib/pkgconfig PII_TEST_MODEL=$tmp/fixture go test -count=1 ./... || return 1
    go list -m | grep -q '^github.com/pii-project/pii/go$'
}

uninstall() {
    make -s uninstall PREFIX="$prefix" || return 1
    local left
    left=$(find "$prefix" ! -type d)
    [ -z "$left" ] || { echo "left behind: $left"; return 1; }
}

dist_archive() {
    make -s dist || return 1
    local tgz=target/dist/pii-$VERSION-linux-x86_64.tar.gz
    tar -tzf "$tgz" | grep -v '/$' | sort > "$tmp/contents.txt"
    sed "s/@VERSION@/$VERSION/g; s/@MAJOR@/$MAJOR/g" packaging/dist-contents.txt | sort > "$tmp/expected.txt"
    diff "$tmp/expected.txt" "$tmp/contents.txt" || return 1
    # Unpacked somewhere else and moved again: pkg-config and the libraries follow the tree.
    mkdir -p "$tmp/x" && tar -C "$tmp/x" -xzf "$tgz" && mv "$tmp/x/pii-$VERSION-linux-x86_64" "$tmp/moved"
    [ "$(readlink "$tmp/moved/lib/libpii.so")" = "libpii.so.$MAJOR" ] || return 1
    tag_example "$tmp/d" "$tmp/moved/lib/pkgconfig"
}

step make-install install_prefix
step soname-runpath-exports elf_layout
step abi-record abi_record
step c-pkg-config c_shared
step c-static-pkg-config c_static
step cpp-cmake-find-package cpp_cmake
step go-pkg-config go_tests
step make-uninstall uninstall
step dist-archive dist_archive
[ $failures -eq 0 ] || { echo "install: $failures step(s) failed"; exit 1; }
echo "install: all steps passed"
