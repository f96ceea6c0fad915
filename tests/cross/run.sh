#!/bin/sh
# Runs cross-compiled test binaries under an emulator: the arguments come in
# pairs, "emulator command" "binaries...". Each pair goes through tests/run.sh
# with WP_TEST_RUNNER set to the emulator; the output ends with one line that
# sums up every architecture: "total: N passed, N failed". A missing emulator
# fails its architecture (one failure per binary).
dir=$(dirname "$0")
passed=0
failed=0
archs=""
log=$(mktemp)
while [ $# -ge 2 ]; do
    runner=$1
    bins=$2
    shift 2
    emu=${runner%% *}
    echo "=== $emu ($runner)"
    if ! command -v "$emu" >/dev/null; then
        n=$(echo $bins | wc -w)
        echo "!! $emu not found (Debian: apt-get install qemu-user): $n binaries not run"
        failed=$((failed + n))
        continue
    fi
    # shellcheck disable=SC2086 # $bins is a list
    WP_TEST_RUNNER=$runner sh "$dir/../run.sh" $bins | tee "$log"
    line=$(grep -E '^total: [0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
    if [ -n "$line" ]; then
        p=$(echo "$line" | cut -d' ' -f2)
        f=$(echo "$line" | cut -d' ' -f4)
    else
        p=0
        f=1
    fi
    echo "=== $emu: $p passed, $f failed"
    archs="$archs $emu:$p/$f"
    passed=$((passed + p))
    failed=$((failed + f))
done
rm -f "$log"
echo "architectures (passed/failed):$archs"
echo "total: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
