#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The kipvs binary's command-line contract: version, --help, and exit 2 on misuse.
# Usage: test_cli.sh PATH-TO-KIPVS
kipvs=$1
failed=0

check() { # name expected-exit expected-substring(stdout+stderr) command...
    name=$1 want_rc=$2 want_text=$3
    shift 3
    out=$("$@" 2>&1)
    rc=$?
    if [ "$rc" -ne "$want_rc" ]; then
        echo "FAIL $name: exit $rc, want $want_rc; output: $out"
        failed=1
    elif ! printf '%s' "$out" | grep -q -- "$want_text"; then
        echo "FAIL $name: output lacks '$want_text': $out"
        failed=1
    else
        echo "ok   $name"
    fi
}

check "version prints it"        0 "^kipvs [0-9][0-9.]*"  "$kipvs" version
check "--version"                0 "^kipvs [0-9]"          "$kipvs" --version
check "--help lists run"         0 "  run "                "$kipvs" --help
check "--help lists plan"        0 "  plan "               "$kipvs" --help
check "--help lists cleanup"     0 "  cleanup "            "$kipvs" --help
check "--help lists version"     0 "  version "            "$kipvs" --help
check "unknown command exits 2"  2 "unknown command 'frobnicate'" "$kipvs" frobnicate
check "no command exits 2"       2 "Usage: kipvs"          "$kipvs"
for c in run plan cleanup version; do
    check "$c --help"            0 "Usage: kipvs $c"       "$kipvs" "$c" --help
done
check "cleanup names itself"     2 "kipvs cleanup: unknown option '--bogus'" "$kipvs" cleanup --bogus
check "version takes no args"    2 "takes no arguments"    "$kipvs" version extra
exit $failed
