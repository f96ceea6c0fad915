#!/bin/sh
# The directories `make install` creates, noted so that `make uninstall`
# removes them again: only those, and only when they are empty (another
# package's file, or a directory that was there before, stays).
#   install-dirs.sh note RECORD DESTDIR DIR...
#       before the install creates DIR...: notes each DIR, and each parent of
#       it, that does not exist yet under DESTDIR.
#   install-dirs.sh remove RECORD DESTDIR DIR...
#       after the uninstall removed its files: removes, deepest first, the noted
#       directories that are one of DIR... or a parent of one, where empty, and
#       forgets them; notes of other installs (another PREFIX) are kept.
# RECORD holds absolute paths without DESTDIR, one a line, as the CMake route's
# packaging/install.cmake does.
set -eu
action=$1
record=$2
destdir=$3
shift 3

# DIR and its parents, up to but without /.
lineage() {
    for d in "$@"; do
        while [ -n "${d%%/}" ] && [ "$d" != . ]; do
            echo "$d"
            d=$(dirname "$d")
        done
    done
}

case $action in
note)
    mkdir -p "$(dirname "$record")"
    lineage "$@" | while read -r d; do
        [ -d "$destdir$d" ] || echo "$d"
    done >>"$record"
    sort -u -o "$record" "$record"
    [ -s "$record" ] || rm -f "$record"
    ;;
remove)
    [ -f "$record" ] || exit 0
    ours=$(lineage "$@")
    sort -r "$record" | while read -r d; do
        if echo "$ours" | grep -qxF -- "$d"; then
            if rmdir "$destdir$d" 2>/dev/null; then
                echo "rmdir $destdir$d"
            fi
        else
            echo "$d" >>"$record.kept"
        fi
    done
    if [ -s "$record.kept" ]; then
        sort -o "$record" "$record.kept"
    else
        rm -f "$record"
    fi
    rm -f "$record.kept"
    ;;
*)
    echo "usage: $0 note|remove RECORD DESTDIR DIR..." >&2
    exit 2
    ;;
esac
