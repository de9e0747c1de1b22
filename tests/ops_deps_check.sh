#!/usr/bin/env bash
# ops_deps_check.sh - scripts/install-deps lists every package the build and the binaries use
#
#   ops_deps_check.sh SOURCE_DIR BIN_DIR
#
# A machine that already has a package hides its absence from install-deps until a fresh one
# (CI on a new machine, the Docker build) fails. So, on the packages installed here:
#   build:   each pkg_check_modules(... IMPORTED_TARGET <module>) of CMakeLists.txt -> the package
#            owning <module>.pc, and find_package(PostgreSQL) -> libpq-dev, must be in
#            `install-deps --list --build`;
#   runtime: each shared library a newspipe-* binary of BIN_DIR links directly (NEEDED) -> the
#            package owning it must be in `install-deps --list --runtime` (libc6, and the
#            sanitizer runtimes of a -DNP_SANITIZE=ON build, excepted).
set -euo pipefail

src=${1:?usage: ops_deps_check.sh SOURCE_DIR BIN_DIR}
bin=${2:?usage: ops_deps_check.sh SOURCE_DIR BIN_DIR}

build_list=$(bash "$src/scripts/install-deps" --list --build)
runtime_list=$(bash "$src/scripts/install-deps" --list --runtime)
rc=0

# Which package owns which file, for all files asked about, in one dpkg -S call (each call
# reads dpkg's whole database). dpkg knows merged-/usr files by their /usr path: ask both.
declare -A owners=()
lookup() {
    local paths=() p line pkg
    for p in "$@"; do
        paths+=("$p" "/usr${p#/usr}")
    done
    while IFS= read -r line; do
        pkg=${line%%: *}
        pkg=${pkg%%,*}
        owners[${line#*: }]=${pkg%%:*}
    done < <(dpkg -S "${paths[@]}" 2>/dev/null || true)
}
# Package owning an absolute path, after lookup ("" if none).
owner() {
    local p=$1
    echo "${owners[$p]:-${owners[/usr${p#/usr}]:-}}"
}

# Whether word $1 is a line of $2 (no pipe into grep -q: with pipefail, the writer's SIGPIPE
# when grep quits early would read as "not listed").
listed() { [[ $'\n'$2$'\n' == *$'\n'"$1"$'\n'* ]]; }

modules=$(sed -n 's/.*pkg_check_modules(.*IMPORTED_TARGET \([A-Za-z0-9_.+-]*\)).*/\1/p' \
    "$src/CMakeLists.txt")
declare -A pcfile=()
for mod in $modules; do
    pcfile[$mod]=$(pkg-config --variable=pcfiledir "$mod" 2>/dev/null || true)/$mod.pc
done
lookup "${pcfile[@]}"
for mod in $modules; do
    dir=${pcfile[$mod]%/*}
    pkg=$(owner "${pcfile[$mod]}")
    if [ -z "$dir" ] || [ -z "$pkg" ]; then
        echo "build: module $mod: no installed package provides $mod.pc"
        rc=1
    elif listed "$pkg" "$build_list"; then
        echo "build: module $mod <- $pkg"
    else
        echo "build: module $mod comes from $pkg, which install-deps --build does not list"
        rc=1
    fi
done
if grep -q 'find_package(PostgreSQL' "$src/CMakeLists.txt"; then
    if listed libpq-dev "$build_list"; then
        echo "build: PostgreSQL <- libpq-dev"
    else
        echo "build: find_package(PostgreSQL) needs libpq-dev, which install-deps --build lacks"
        rc=1
    fi
fi

# Every library path the binaries resolve to, looked up at once.
libs=()
for exe in "$bin"/newspipe-*; do
    [ -x "$exe" ] || continue
    while read -r path; do
        libs+=("$path")
    done < <(ldd "$exe" | awk '$3 ~ /^\// { print $3 }')
done
[ "${#libs[@]}" -eq 0 ] || lookup "${libs[@]}"

found=0
for exe in "$bin"/newspipe-*; do
    [ -x "$exe" ] || continue
    found=1
    bad=0
    needed=$(readelf -d "$exe" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
    resolved=$(ldd "$exe")
    for so in $needed; do
        path=$(awk -v so="$so" '$1 == so && $3 ~ /^\// { print $3 }' <<<"$resolved")
        pkg=""
        [ -z "$path" ] || pkg=$(owner "$path")
        case "$pkg" in
            libc6 | libasan* | libubsan*) continue ;;
        esac
        if [ -z "$pkg" ]; then
            echo "runtime: $(basename "$exe"): $so (${path:-not found}) belongs to no package"
            bad=1
        elif ! listed "$pkg" "$runtime_list"; then
            echo "runtime: $(basename "$exe"): $so comes from $pkg, not in install-deps --runtime"
            bad=1
        fi
    done
    if [ "$bad" = 0 ]; then
        echo "runtime: $(basename "$exe"): $(echo "$needed" | tr '\n' ' ')ok"
    fi
    [ "$bad" = 0 ] || rc=1
done
if [ "$found" = 0 ]; then
    echo "no newspipe-* binaries in $bin"
    rc=1
fi
exit "$rc"
