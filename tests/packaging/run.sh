#!/bin/sh
# make test-packaging: installs workerpool.h the ways a user would and builds
# the consumer (consumer.c) against each install, then runs it:
#   - make install into a DESTDIR, then pkg-config finds the header and flags
#     (through PKG_CONFIG_SYSROOT_DIR, as for a staged install); make
#     uninstall removes every file again;
#   - CMake: add_subdirectory, FetchContent (from this checkout, no network),
#     and find_package after `cmake --install`.
# Ends with one line: "total: N passed, N failed".
# Needs: make, a C compiler (CC, default cc), pkg-config, cmake.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
here="$top/tests/packaging"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
CC=${CC:-cc}
flags="-std=c11 -Wall -Wextra -Wpedantic -Wstrict-prototypes -Wshadow -Werror"
version=$(sed -n 's/^#define WORKERPOOL_VERSION "\(.*\)"$/\1/p' "$top/workerpool.h")
passed=0
failed=0

# check NAME COMMAND...: runs the command, its output kept for a failure.
check() {
    name=$1
    shift
    if "$@" >"$tmp/log" 2>&1; then
        echo "ok  $name"
        passed=$((passed + 1))
    else
        echo "FAIL $name"
        sed 's/^/    /' "$tmp/log"
        failed=$((failed + 1))
    fi
}

# --- make install / pkg-config / make uninstall ---------------------------
stage="$tmp/stage"
prefix=/opt/workerpool
pcdir="$stage$prefix/share/pkgconfig"

installed() {
    make -C "$top" --no-print-directory install DESTDIR="$stage" PREFIX="$prefix" &&
    test -f "$stage$prefix/include/workerpool.h" &&
    cmp "$top/workerpool.h" "$stage$prefix/include/workerpool.h" &&
    test -f "$pcdir/workerpool.pc" &&
    cat "$pcdir/workerpool.pc"
}
check "make install DESTDIR=... PREFIX=$prefix: header and workerpool.pc" installed

pc() { PKG_CONFIG_PATH="$pcdir" PKG_CONFIG_LIBDIR="$pcdir" PKG_CONFIG_SYSROOT_DIR="$stage" pkg-config "$@"; }

# (echo of an unquoted result: pkgconf ends its lines with a space)
pc_fields() {
    # shellcheck disable=SC2046,SC2005
    test "$(echo $(pc --modversion workerpool))" = "$version" &&
    test "$(echo $(pc --cflags workerpool))" = "-I$stage$prefix/include" &&
    test "$(echo $(pc --libs workerpool))" = "-pthread"
}
check "pkg-config: version $version, -I\${includedir}, -pthread" pc_fields

pc_build() {
    # shellcheck disable=SC2046
    $CC $flags $(pc --cflags workerpool) "$here/consumer.c" -o "$tmp/consumer-pc" $(pc --libs workerpool) &&
    "$tmp/consumer-pc"
}
check "pkg-config consumer builds (strict flags) and runs" pc_build

uninstalled() {
    make -C "$top" --no-print-directory uninstall DESTDIR="$stage" PREFIX="$prefix" &&
    test ! -e "$stage$prefix/include/workerpool.h" &&
    test ! -e "$pcdir/workerpool.pc"
}
check "make uninstall removes both files" uninstalled

# --- CMake -------------------------------------------------------------------
cmake_consumer() {
    via=$1
    shift
    build="$tmp/cmake-$via"
    cmake -S "$here/cmake" -B "$build" -DCMAKE_C_COMPILER="$CC" -DCMAKE_C_FLAGS="$flags" \
        -DWORKERPOOL_VIA="$via" -DWORKERPOOL_SOURCE="$top" "$@" &&
    cmake --build "$build" &&
    "$build/consumer"
}
check "CMake consumer via add_subdirectory" cmake_consumer add_subdirectory
check "CMake consumer via FetchContent (SOURCE_DIR)" cmake_consumer FetchContent

cmake_installed() {
    cmake -S "$top" -B "$tmp/cmake-self" -DCMAKE_C_COMPILER="$CC" -DCMAKE_INSTALL_PREFIX="$tmp/cmake-prefix" &&
    cmake --install "$tmp/cmake-self" &&
    test -f "$tmp/cmake-prefix/include/workerpool.h" &&
    cmake_consumer find_package -DCMAKE_PREFIX_PATH="$tmp/cmake-prefix"
}
check "CMake consumer via find_package after cmake --install" cmake_installed

echo "total: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
