#!/bin/sh
# What a user meets first: the header compiles cleanly as the implementation
# under gcc and clang, as declarations only in C and C++, and when included
# first without and then with WORKERPOOL_IMPLEMENTATION (the stb rule).
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
