#!/bin/sh
# bench/pack.sh DIR - builds the benchmark contenders here (bench/run.sh with
# BENCH_BUILD_ONLY=1) and packs into DIR what a machine without the packages
# needs to run them:
#   DIR/bin/      the bench binaries, contenders.txt and versions.txt (what
#                 bench/run.sh reads with BENCH_PREBUILT=1)
#   DIR/lib/      every shared library they load that is not glibc's (libc,
#                 libm, libpthread, libdl, librt, the loader) nor the
#                 compiler's C++ runtime (libstdc++, libgcc_s), the real
#                 file under the name the binaries ask for (ldd's left column)
#   DIR/lib-gcc/  libstdc++.so.6 and libgcc_s.so.1 of this machine, NOT on the
#                 library path by default (see below)
#   DIR/bench/    bench/*.sh and bench/*.py
#   DIR/versions.txt  package and compiler versions, and the newest glibc and
#                 libstdc++ symbol versions the binaries and DIR/lib need
# Then, on the other machine, from the repository root:
#   BENCH_LIBS=DIR/lib BENCH_PREBUILT=1 BENCH_OUT=DIR/bin BENCH_CPUS=0,1 sh bench/run.sh
#   BENCH_LIBS=DIR/lib BENCH_PREBUILT=1 BENCH_OUT=DIR/bin sh bench/scale.sh
# (LD_LIBRARY_PATH=DIR/lib in place of BENCH_LIBS works too, but then the
# shell tools and python3 load DIR/lib's libpcre2-8 and the rest as well;
# BENCH_LIBS gives the library path to the bench binaries only.)
# Why libstdc++ stays out of DIR/lib: the binaries need only GLIBCXX_3.4.22
# (gcc 6, 2016), which any libstdc++ the other machine has will provide,
# while this machine's libstdc++ itself needs a newer glibc (2.36 on Debian
# 12) than the binaries do (2.34): carried, it would be the one thing that
# fails on an Ubuntu 22.04 (glibc 2.35). Add DIR/lib-gcc to LD_LIBRARY_PATH
# only if a machine has no libstdc++ at all.
# Environment: CC, CXX as for bench/run.sh.
set -u
[ $# -eq 1 ] || { echo "usage: sh bench/pack.sh DIR"; exit 2; }
case $1 in /*) dir=$1;; *) dir=$(pwd)/$1;; esac
cd "$(dirname "$0")/.." || exit 2
rm -rf "${dir:?}/bin" "${dir:?}/lib" "${dir:?}/lib-gcc" "${dir:?}/bench"
mkdir -p "$dir/bin" "$dir/lib" "$dir/lib-gcc" "$dir/bench" || exit 1
# Build into a folder of the build tree (so the objects and the Go cache do
# not travel), then copy the binaries.
stage=build/bench-pack/$(basename "${CC:-cc}")
BENCH_BUILD_ONLY=1 BENCH_OUT=$stage sh bench/run.sh || { echo "pack: build failed"; exit 1; }
for f in "$stage"/bench-*; do cp "$f" "$dir/bin/" || exit 1; done
cp "$stage/contenders.txt" "$stage/versions.txt" "$dir/bin/" || exit 1

# Shared libraries: ldd lists the whole closure, "name => path (addr)".
for b in "$dir"/bin/bench-*; do
    ldd "$b" 2>/dev/null | sed -n 's/^[[:space:]]*\([^ ]*\) => \(\/[^ ]*\) .*/\1 \2/p'
done | sort -u | while read -r name path; do
    case $name in
        libc.so.*|libm.so.*|libpthread.so.*|libdl.so.*|librt.so.*|ld-linux*|libresolv.so.*|libutil.so.*|libmvec.so.*) ;;
        libstdc++.so.*|libgcc_s.so.*) cp -L "$path" "$dir/lib-gcc/$name" ;;
        *) cp -L "$path" "$dir/lib/$name" ;;
    esac
done
chmod -R u+w "$dir"

cp bench/*.sh bench/*.py "$dir/bench/"
# The newest symbol versions needed from the libraries not carried.
needs() {
    for f in "$dir"/bin/bench-* "$dir"/lib/*; do
        objdump -T "$f" 2>/dev/null
    done | grep -o "$1"'_[0-9][0-9.]*' | sort -u -t_ -k2,2V | tail -n 1
}
{
    cat "$dir/bin/versions.txt"
    printf 'libraries:'; for f in "$dir"/lib/*; do printf ' %s' "${f##*/}"; done; echo
    if command -v objdump >/dev/null 2>&1; then
        echo "needs: $(needs GLIBC) (glibc), $(needs GLIBCXX) (libstdc++)"
    fi
} >"$dir/versions.txt"
cat "$dir/versions.txt"
echo "pack: $(du -sh "$dir" | cut -f1) in $dir"
