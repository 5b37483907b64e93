#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The shell completions keep up with pidrestorectl: the bash completion,
# loaded in a plain bash (no bash-completion package needed), registers
# itself, offers every verb of --help, and for every verb exactly the
# options that the verb accepts (each option of --help is tried on each
# verb: "does not apply" must mean "not offered"), with the global ones
# everywhere; values of --json and --signal, and commands after "--". The
# zsh completion names every verb and option, and parses when zsh is here.
set -euo pipefail
: "${top_builddir:=$PWD}"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
ctl=$top_builddir/client/pidrestorectl
bash_file=$top_srcdir/client/completions/bash/pidrestorectl
zsh_file=$top_srcdir/client/completions/zsh/_pidrestorectl
n_failed=0 n_checked=0
fail() {
	echo "FAIL: $*"
	n_failed=$((n_failed + 1))
}
ok() {
	n_checked=$((n_checked + 1))
}

help=$("$ctl" --help)
verbs=$(awk '/^Verbs:$/ { on = 1; next } /^$/ { on = 0 } on && /^  [a-z]/ { print $1 }' <<<"$help" | sort -u)
options=$(grep -oE -- '(^|[ ,[])--?[a-z][a-z-]*' <<<"$help" | grep -oE -- '--?[a-z-]+' | grep -v -- '^--$' | sort -u)
[ -n "$verbs" ] && [ -n "$options" ] || { echo "FAIL: no verbs or options in pidrestorectl --help"; exit 1; }
globals="-h --help --version --socket --no-pager"

# complete WORD...: the completions bash offers for the last word.
complete_words() {
	bash --norc --noprofile -c '
		. "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		_pidrestorectl
		printf "%s\n" "${COMPREPLY[@]}"' bash "$bash_file" pidrestorectl "$@" | sort -u
}

registered=$(bash --norc --noprofile -c '. "$1"; complete -p pidrestorectl' bash "$bash_file")
ok
[ "$registered" = "complete -F _pidrestorectl pidrestorectl" ] || fail "bash: complete -p says '$registered'"

offered=$(complete_words "")
for verb in $verbs; do
	ok
	grep -qx -- "$verb" <<<"$offered" || fail "bash: the verb $verb is not offered"
done
ok
[ "$(complete_words st)" = "$(printf 'stats\nstatus')" ] || fail "bash: 'st' completes to '$(complete_words st | tr '\n' ' ')'"

# An argument for options that take one, so that only "does not apply"
# can refuse them.
argument_of() {
	case $1 in
	-p | --pid) echo 4242 ;;
	--pidns | --socket) echo /nonexistent ;;
	--ttl) echo 5 ;;
	--signal) echo KILL ;;
	--uid) echo 0 ;;
	--fd) echo 0 ;;
	--file) echo /nonexistent.json ;;
	esac
}
for verb in $verbs; do
	offered=$(complete_words "$verb" -)
	for opt in $options; do
		ok
		refusal=$(PIDRESTORE_SOCKET=/nonexistent timeout 20 "$ctl" --socket /nonexistent "$verb" "$opt" \
			$(argument_of "$opt") </dev/null 2>&1 >/dev/null | grep -c 'does not apply' || true)
		[ "$opt" != --help ] && [ "$opt" != -h ] && [ "$opt" != --version ] || refusal=0
		if grep -qx -- "$opt" <<<"$offered"; then
			[ "$refusal" -eq 0 ] || fail "bash: $verb offers $opt, which it refuses"
		else
			[ "$refusal" -ne 0 ] || fail "bash: $verb accepts $opt, which is not offered"
		fi
	done
	for g in $globals; do
		ok
		grep -qx -- "$g" <<<"$offered" || fail "bash: $verb does not offer the global option $g"
	done
done

ok
[ "$(complete_words status --json=)" = "$(printf -- '--json=off\n--json=pretty\n--json=short')" ] ||
	fail "bash: --json= completes to '$(complete_words status --json= | tr '\n' ' ')'"
ok
[ "$(complete_words kill 3 --signal KI)" = KILL ] || fail "bash: --signal KI completes to '$(complete_words kill 3 --signal KI)'"
ok
grep -qx bash <<<"$(complete_words spawn --pid 4242 -- bas)" || fail "bash: no command offered after spawn's --"
ok
[ -z "$(complete_words spawn --pid 4242 -- sh --no-w)" ] || fail "bash: spawn's options offered after the command began"

# zsh: every verb and option is named; the file parses.
for verb in $verbs; do
	ok
	grep -qE "^ +'$verb:" "$zsh_file" || fail "zsh: the verb $verb is not described"
done
for opt in $options; do
	ok
	grep -qE -- "(['{,*)]|^ *)$opt([=\\[,}]|$)" "$zsh_file" || fail "zsh: $opt is not offered"
done
if command -v zsh >/dev/null 2>&1; then
	ok
	zsh -n "$zsh_file" || fail "zsh: $zsh_file does not parse"
else
	echo "# zsh is not installed: the zsh file was not parsed"
fi

echo "$n_checked checks, $n_failed failed"
[ "$n_failed" -eq 0 ]
