#!/bin/sh
# make test-packaging: installs workerpool.h every way a user would, builds
# the consumer (consumer.c, the quick start) against each, runs it, and
# checks that each uninstall leaves the tree as it found it:
#   - make install into a DESTDIR stage (PREFIX=/opt/workerpool) and into an
#     existing temporary prefix: the header, workerpool.pc and the CMake
#     package; pkg-config and CMake find_package consumers; the CMake
#     package's version rules; make uninstall restores the file list
#     (directories included: the ones the install created go, the ones that
#     were there stay);
#   - cmake --install writes the same files as make install, byte for byte;
#     a find_package consumer; its uninstall target restores the file list;
#     cmake --install --prefix writes workerpool.pc for that prefix;
#   - CMake add_subdirectory and FetchContent (from this checkout, no network);
#   - Meson: this checkout as a subproject in subprojects/, and fetched by git
#     through packaging/workerpool.wrap (from a local copy of the working tree);
#   - package.json (clib) is valid JSON and names files that exist.
# Ends with one line: "total: N passed, N failed".
# Needs: make, a C compiler (CC, default cc), pkg-config, cmake, meson, ninja,
# git, python3 (Debian: pkg-config cmake meson ninja-build git python3).
# $CC and $flags are word lists, split on purpose:
# shellcheck disable=SC2086
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
here="$top/tests/packaging"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
CC=${CC:-cc}
flags="-std=c11 -Wall -Wextra -Wpedantic -Wstrict-prototypes -Wshadow -Werror"
version=$(sed -n 's/^#define WORKERPOOL_VERSION "\(.*\)"$/\1/p' "$top/workerpool.h")
major=${version%%.*}
minor=${version#*.}
minor=${minor%%.*}
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

tools() {
    status=0
    for tool in make pkg-config cmake meson ninja git python3; do
        command -v "$tool" >/dev/null || { echo "$tool not found"; status=1; }
    done
    test -n "$version" || { echo "no WORKERPOOL_VERSION in workerpool.h"; status=1; }
    return $status
}
check "tools: make pkg-config cmake meson ninja git python3 (Debian: pkg-config cmake meson ninja-build git python3)" tools

# snapshot DIR: every path under DIR, files and directories, sorted.
snapshot() { (cd "$1" && find . | LC_ALL=C sort); }

# The make variables of every make install/uninstall here: the note of the
# directories an install created goes to the scratch directory, not build/.
record="$tmp/install-dirs.txt"
mk() { make -C "$top" --no-print-directory INSTALL_DIRS="$record" "$@"; }

# the files an install under PREFIX $1 must hold, relative to the tree's root
expected_files() {
    printf '%s\n' ".$1/include/workerpool.h" ".$1/share/cmake/workerpool/workerpoolConfig.cmake" \
        ".$1/share/cmake/workerpool/workerpoolConfigVersion.cmake" ".$1/share/pkgconfig/workerpool.pc" |
        LC_ALL=C sort
}

# installed_files ROOT PREFIX: exactly the expected files, the header unchanged.
installed_files() {
    (cd "$1" && find . -type f | LC_ALL=C sort) >"$tmp/files" &&
    expected_files "$2" | diff - "$tmp/files" &&
    cmp "$top/workerpool.h" "$1$2/include/workerpool.h"
}

# unchanged BEFORE ROOT: the file list of ROOT is the one saved in BEFORE.
unchanged() { snapshot "$2" | diff "$1" -; }

# cmake_consumer VIA BUILD-NAME CMAKE-ARGS...: configures, builds and runs.
cmake_consumer() {
    via=$1
    build="$tmp/cmake-$2"
    shift 2
    cmake -S "$here/cmake" -B "$build" -DCMAKE_C_COMPILER="$CC" -DCMAKE_C_FLAGS="$flags" \
        -DWORKERPOOL_VIA="$via" -DWORKERPOOL_SOURCE="$top" "$@" &&
    cmake --build "$build" &&
    "$build/consumer"
}

# --- make install into a DESTDIR stage ----------------------------------------
stage="$tmp/stage"
prefix=/opt/workerpool
pcdir="$stage$prefix/share/pkgconfig"
mkdir -p "$stage"
snapshot "$stage" >"$tmp/stage.before"

staged_install() {
    mk install DESTDIR="$stage" PREFIX="$prefix" &&
    installed_files "$stage" "$prefix" &&
    cat "$pcdir/workerpool.pc"
}
check "make install DESTDIR=... PREFIX=$prefix: the header, workerpool.pc, the CMake package" staged_install

pc() { PKG_CONFIG_PATH="$pcdir" PKG_CONFIG_LIBDIR="$pcdir" PKG_CONFIG_SYSROOT_DIR="$stage" pkg-config "$@"; }

# (echo of an unquoted result: pkgconf ends its lines with a space)
# shellcheck disable=SC2046,SC2005
pc_fields() {
    test "$(echo $(pc --modversion workerpool))" = "$version" &&
    test "$(echo $(pc --cflags workerpool))" = "-I$stage$prefix/include" &&
    test "$(echo $(pc --libs workerpool))" = "-pthread"
}
check "pkg-config: version $version, -I\${includedir}, -pthread" pc_fields

# shellcheck disable=SC2046
pc_build() {
    $CC $flags $(pc --cflags workerpool) "$here/consumer.c" -o "$tmp/consumer-pc" $(pc --libs workerpool) &&
    "$tmp/consumer-pc"
}
check "pkg-config consumer builds (strict flags) and runs" pc_build

check "CMake find_package($major.$minor) consumer after make install (staged tree)" \
    cmake_consumer find_package make-staged -DCMAKE_PREFIX_PATH="$stage$prefix" \
    -DWORKERPOOL_FIND_VERSION="$major.$minor" -DWORKERPOOL_EXPECT_DIR="$stage$prefix/share/cmake/workerpool"

# Semver: same major, and while the major is 0 the same minor; not newer.
versions="=YES;$version=YES;$major.$minor=YES;$major=$([ "$major" = 0 ] && [ "$minor" != 0 ] && echo NO || echo YES)"
versions="$versions;$major.$((minor + 1))=NO;$((major + 1)).0=NO;$major.$minor...$((major + 1))=YES"
versions="$versions;0.0.1...<$version=NO"
[ "$minor" -gt 0 ] && versions="$versions;$major.$((minor - 1))=$([ "$major" = 0 ] && echo NO || echo YES)"
cmake_versions() {
    cmake -S "$here/cmake" -B "$tmp/cmake-versions" -DCMAKE_C_COMPILER="$CC" \
        -DWORKERPOOL_VIA=versions -DCMAKE_PREFIX_PATH="$stage$prefix" -DWORKERPOOL_VERSIONS="$versions"
}
check "CMake package $version: find_package version rules ($versions)" cmake_versions

staged_uninstall() { mk uninstall DESTDIR="$stage" PREFIX="$prefix" && unchanged "$tmp/stage.before" "$stage"; }
check "make uninstall: the stage's file list as before the install" staged_uninstall

# --- make install into an existing prefix --------------------------------------
# include/ and share/ are there before (include/ empty): they must stay.
root="$tmp/root"
prefix2="$root/usr"
mkdir -p "$prefix2/include" "$prefix2/share/doc"
echo kept >"$prefix2/share/doc/other"
snapshot "$root" >"$tmp/root.before"

# shellcheck disable=SC2046
root_install() {
    mk install PREFIX="$prefix2" &&
    (cd "$root" && find . -type f | LC_ALL=C sort) >"$tmp/files" &&
    { expected_files "${prefix2#"$root"}"; echo ./usr/share/doc/other; } | LC_ALL=C sort | diff - "$tmp/files" &&
    grep -qx "prefix=$prefix2" "$prefix2/share/pkgconfig/workerpool.pc" &&
    PKG_CONFIG_LIBDIR="$prefix2/share/pkgconfig" pkg-config --cflags workerpool | grep -q -- "-I$prefix2/include" &&
    $CC $flags $(PKG_CONFIG_LIBDIR="$prefix2/share/pkgconfig" pkg-config --cflags --libs workerpool) \
        "$here/consumer.c" -o "$tmp/consumer-pc2" &&
    "$tmp/consumer-pc2"
}
check "make install PREFIX=<existing dir>: pkg-config consumer without a sysroot" root_install

check "CMake find_package consumer after make install PREFIX=<existing dir>" \
    cmake_consumer find_package make-root -DCMAKE_PREFIX_PATH="$prefix2" \
    -DWORKERPOOL_EXPECT_DIR="$prefix2/share/cmake/workerpool"

root_uninstall() { mk uninstall PREFIX="$prefix2" && unchanged "$tmp/root.before" "$root"; }
check "make uninstall: the file list as before (the directories that were there stay)" root_uninstall

# --- cmake --install -----------------------------------------------------------
self="$tmp/cmake-self"
cstage="$tmp/cstage"
mstage="$tmp/mstage"
mkdir -p "$cstage" "$mstage"
snapshot "$cstage" >"$tmp/cstage.before"

cmake_install_same() {
    cmake -S "$top" -B "$self" -DCMAKE_C_COMPILER="$CC" -DCMAKE_INSTALL_PREFIX="$prefix" &&
    DESTDIR="$cstage" cmake --install "$self" &&
    installed_files "$cstage" "$prefix" &&
    mk install DESTDIR="$mstage" PREFIX="$prefix" &&
    diff -r "$mstage" "$cstage" &&
    mk uninstall DESTDIR="$mstage" PREFIX="$prefix"
}
check "cmake --install writes the same files as make install (diff -r)" cmake_install_same

check "CMake find_package consumer after cmake --install" \
    cmake_consumer find_package cmake-installed -DCMAKE_PREFIX_PATH="$cstage$prefix" \
    -DWORKERPOOL_FIND_VERSION="$version" -DWORKERPOOL_EXPECT_DIR="$cstage$prefix/share/cmake/workerpool"

cmake_uninstall() {
    DESTDIR="$cstage" cmake --build "$self" --target uninstall &&
    unchanged "$tmp/cstage.before" "$cstage"
}
check "cmake uninstall target: the file list as before cmake --install" cmake_uninstall

cprefix="$tmp/cprefix"
# shellcheck disable=SC2046
cmake_install_prefix() {
    cmake --install "$self" --prefix "$cprefix" &&
    grep -qx "prefix=$cprefix" "$cprefix/share/pkgconfig/workerpool.pc" &&
    $CC $flags $(PKG_CONFIG_LIBDIR="$cprefix/share/pkgconfig" pkg-config --cflags --libs workerpool) \
        "$here/consumer.c" -o "$tmp/consumer-pc3" &&
    "$tmp/consumer-pc3" &&
    cmake --build "$self" --target uninstall &&
    test ! -e "$cprefix"
}
check "cmake --install --prefix: workerpool.pc for that prefix; uninstall removes it all" cmake_install_prefix

# --- CMake from the source tree ---------------------------------------------------
check "CMake consumer via add_subdirectory" cmake_consumer add_subdirectory subdir
check "CMake consumer via FetchContent (SOURCE_DIR)" cmake_consumer FetchContent fetch

# --- Meson ----------------------------------------------------------------------
# meson_project NAME: the consumer project in $tmp/NAME, with the wrap file
# in its subprojects/, as a user sets it up.
meson_project() {
    mkdir -p "$tmp/$1/subprojects" &&
    cp "$here/meson/meson.build" "$here/meson/meson_options.txt" "$here/consumer.c" "$tmp/$1/" &&
    cp "$top/packaging/workerpool.wrap" "$tmp/$1/subprojects/"
}
# meson_consumer NAME: sets it up, builds and runs it; --force-fallback-for:
# the subproject, even where a workerpool.pc is installed (the consumer
# asserts it).
meson_consumer() {
    (cd "$tmp/$1" &&
     CC="$CC" CFLAGS="$flags" meson setup build -Dexpect_version="$version" --force-fallback-for=workerpool &&
     meson compile -C build &&
     ./build/consumer)
}
# The files a user's copy of the repository has, from the working tree.
checkout_copy() { mkdir -p "$1" && cp "$top/meson.build" "$top/workerpool.h" "$top/LICENSE" "$1/"; }

meson_dir() {
    meson_project meson-dir &&
    checkout_copy "$tmp/meson-dir/subprojects/workerpool" &&
    meson_consumer meson-dir
}
check "Meson consumer: dependency('workerpool') from subprojects/workerpool (version $version)" meson_dir

meson_wrap() {
    checkout_copy "$tmp/wp-git" &&
    git -C "$tmp/wp-git" init -q &&
    git -C "$tmp/wp-git" add -A &&
    git -C "$tmp/wp-git" -c user.name=test -c user.email=test@localhost commit -q -m snapshot &&
    meson_project meson-wrap &&
    sed -i "s|^url = .*|url = file://$tmp/wp-git|" "$tmp/meson-wrap/subprojects/workerpool.wrap" &&
    meson_consumer meson-wrap &&
    test -f "$tmp/meson-wrap/subprojects/workerpool/.git/HEAD"
}
check "Meson consumer: the wrap file fetches the repository by git (local copy)" meson_wrap

# --- clib -----------------------------------------------------------------------
clib() {
    python3 - "$top/package.json" "$top" <<'EOF'
import json, os, sys
pkg = json.load(open(sys.argv[1]))
for key in ("name", "repo", "description", "license", "src", "keywords"):
    assert key in pkg, "package.json has no " + key
for path in pkg["src"]:
    assert os.path.isfile(os.path.join(sys.argv[2], path)), path + " does not exist"
# The header is the one source of the version.
assert "version" not in pkg, "package.json repeats the version"
print(pkg["name"], pkg["src"])
EOF
}
check "package.json (clib): valid JSON; name, repo, src that exists; no second version" clib

echo "total: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
