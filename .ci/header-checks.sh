#!/bin/sh
# What a user meets first: the header compiles cleanly as the implementation
# under gcc and clang, as declarations only in C and C++, and when included
# first without and then with WORKERPOOL_IMPLEMENTATION (the stb rule). Where
# MinGW-w64 is installed, the same for Windows (Win32 and pthreads backends)
# with its gcc and with clang targeting it. Conflicting backend macros stop
# the build with an #error.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
flags="-std=c11 -Wall -Wextra -Wpedantic -Wstrict-prototypes -Wshadow -Werror -I$top"
printf '#define WORKERPOOL_IMPLEMENTATION\n#include "workerpool.h"\n' >"$tmp/impl.c"
printf '#include "workerpool.h"\n#define WORKERPOOL_IMPLEMENTATION\n#include "workerpool.h"\n#include "workerpool.h"\n' >"$tmp/twice.c"
printf '#include "workerpool.h"\nint user(void);\nint user(void) { wp_stats s; return (int)sizeof s + (int)WP_OK; }\n' >"$tmp/user.c"
for cc in gcc clang; do
    for backend in "" -DWP_THREADS_C11 -DWP_THREADS_PTHREAD; do
        $cc $flags $backend -c "$tmp/impl.c" -o "$tmp/impl.o"
        $cc $flags -D_POSIX_C_SOURCE=200809L $backend -c "$tmp/twice.c" -o "$tmp/twice.o"
        $cc ${flags#-std=c11} -std=gnu11 $backend -c "$tmp/twice.c" -o "$tmp/twice.o"
    done
    $cc $flags -c "$tmp/user.c" -o "$tmp/user.o"
    echo "ok  $cc: implementation, include twice, declarations"
done
for std in c++11 c++17; do
    g++ -std=$std -Wall -Wextra -Wpedantic -Werror -I"$top" -x c++ -c "$tmp/user.c" -o "$tmp/user_cpp.o"
    echo "ok  g++ -std=$std: declarations"
done
if command -v x86_64-w64-mingw32-gcc >/dev/null; then
    for cc in x86_64-w64-mingw32-gcc "clang --target=x86_64-w64-mingw32"; do
        for backend in "" -DWP_THREADS_WIN32 -DWP_THREADS_PTHREAD; do
            $cc $flags $backend -c "$tmp/impl.c" -o "$tmp/impl.o"
            $cc ${flags#-std=c11} -std=gnu11 $backend -c "$tmp/twice.c" -o "$tmp/twice.o"
        done
        $cc $flags -c "$tmp/user.c" -o "$tmp/user.o"
        echo "ok  $cc: implementation (Win32, pthreads), include twice, declarations"
    done
fi
# The implementation compiled as C++ or as C99 stops at one #error that says
# what to do, not at hundreds of errors further down.
if g++ -I"$top" -x c++ -c "$tmp/impl.c" -o "$tmp/impl.o" 2>"$tmp/err"; then
    echo "!! g++ compiled the implementation; it should stop with an #error"
    exit 1
fi
if [ "$(grep -c ': error:' "$tmp/err")" -ne 1 ] || ! grep -q 'implementation is C11, not C++' "$tmp/err"; then
    echo "!! g++ on the implementation: not exactly the one #error"; exit 1
fi
echo "ok  g++ on the implementation: one error, $(grep -o 'error: .*' "$tmp/err" | cut -c1-60)..."
if gcc -std=c99 -I"$top" -c "$tmp/impl.c" -o "$tmp/impl.o" 2>"$tmp/err"; then
    echo "!! gcc -std=c99 compiled the implementation; it should stop with an #error"
    exit 1
fi
if [ "$(grep -c ': error:' "$tmp/err")" -ne 1 ] || ! grep -q 'needs C11 or later' "$tmp/err"; then
    echo "!! gcc -std=c99 on the implementation: not exactly the one #error"; exit 1
fi
echo "ok  gcc -std=c99 on the implementation: one error"
for bad in "-DWP_THREADS_C11 -DWP_THREADS_PTHREAD" -DWP_THREADS_WIN32; do
    if gcc $flags $bad -c "$tmp/impl.c" -o "$tmp/impl.o" 2>"$tmp/err"; then
        echo "!! gcc $bad compiled; it should stop with an #error"
        exit 1
    fi
    grep -q "#error" "$tmp/err"
    echo "ok  gcc $bad: stops with $(grep -o 'error: .*' "$tmp/err" | head -n 1)"
done
