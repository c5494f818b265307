#!/usr/bin/env bash
# The generated man page sgm(1) has a section for every command of
# `sgm --help` and renders (groff when installed, else a check of its
# macros); the bash completion script defines a completion for sgm that
# completes commands, flags and sampler names from the built CLI.
set -euo pipefail
b=$SGM_BUILD_DIR
man=$b/sgm.1
[ -s "$man" ] || { echo "man: $man missing"; exit 1; }
grep -q '^\.TH SGM 1 ' "$man" || { echo "man: no .TH"; exit 1; }
for c in $("$b/sgm" --help | awk '/^  [a-z][a-z0-9-]* +[^ ]/ {print $1}'); do
  u=${c^^}
  # the man page escapes hyphens (\-)
  grep -qxF ".SH \"SGM ${u//-/\\-}\"" "$man" || { echo "man: no section for '$c'"; exit 1; }
done
bad=$(grep '^\.' "$man" | grep -Ev '^\.(\\"|TH|SH|TP|PP|B|I|nf|fi|br)( |$)' || true)
[ -z "$bad" ] || { echo "man: unexpected requests:"; echo "$bad"; exit 1; }
if command -v groff >/dev/null; then
  # long unbreakable option lists may not fit a line: those warnings are fine
  err=$(groff -man -Tutf8 -z "$man" 2>&1 | grep -Ev 'cannot (adjust|break) line' || true)
  [ -z "$err" ] || { echo "man: groff: $err"; exit 1; }
  groff -man -Tutf8 "$man" 2>/dev/null | grep -q 'dpmpp' || { echo "man: renders empty"; exit 1; }
fi
echo "man: $(grep -c '^\.SH' "$man") sections render"

comp=$SGM_SOURCE_DIR/scripts/sgm-completion.bash
PATH=$b:$PATH bash -c '
  set -eu
  source "$1"
  complete -p sgm | grep -q -- "-F _sgm" || { echo "completion: nothing for sgm"; exit 1; }
  expect() { COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=(); _sgm
             [[ " ${COMPREPLY[*]} " == *" $1 "* ]] || { echo "completion: ${COMP_WORDS[*]} -> ${COMPREPLY[*]} lacks $1"; exit 1; }; }
  COMP_WORDS=(sgm sam); expect sample
  COMP_WORDS=(sgm sample --samp); expect --sampler
  COMP_WORDS=(sgm sample --sampler dpmpp_2); expect dpmpp_2m
  COMP_WORDS=(sgm train --process vp-); expect vp-cosine
  COMP_WORDS=(sgm sample --schedule kar); expect karras
  echo "completion: commands, flags and names complete"' _ "$comp"
