#!/usr/bin/env bash
# Writes a man page made from a program's --help text (run at build time; see
# packaging/package.cmake). Every Liaison program documents itself in --help, so the page
# is that text: NAME from its first line ("PROGRAM: what it does"), SYNOPSIS from its
# "Usage:" line, and the rest as it is printed (options, subcommands), preformatted.
#
#   help2man.sh BINARY NAME VERSION OUTPUT [HELP_OPTION]
#
# OUTPUT ending in .gz is compressed (gzip -9n: no name or time stamp, so that the same
# program gives the same bytes). HELP_OPTION is --help unless given (`liaison` has
# --help-all, which lists every subcommand's options). The page's date is
# SOURCE_DATE_EPOCH's when it is set, else today's.
set -euo pipefail

if [ $# -lt 4 ] || [ $# -gt 5 ]; then
  echo "usage: help2man.sh BINARY NAME VERSION OUTPUT [HELP_OPTION]" >&2
  exit 2
fi
binary=$1 name=$2 version=$3 output=$4 help_option=${5:---help}

# argv[0] is NAME, so that the "Usage:" line names the program, not the build tree.
if ! help=$(exec -a "$name" "$binary" "$help_option" 2>&1); then
  echo "help2man.sh: $binary $help_option failed:" >&2
  printf '%s\n' "$help" >&2
  exit 1
fi
if [ -z "$help" ]; then
  echo "help2man.sh: $binary $help_option printed nothing" >&2
  exit 1
fi

# roff escaping: backslashes first, then minus signs (so that options are typed as printed),
# then a leading . or ' (a request otherwise).
escape() {
  sed -e 's/\\/\\e/g' -e 's/-/\\-/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"
}

first=$(printf '%s\n' "$help" | head -n 1)
case "$first" in
  "$name: "*) summary=${first#"$name: "} ;;
  *) # No "NAME: summary" line (liaison-gendir): the first line that is not the usage.
     summary=$(printf '%s\n' "$help" | grep -v -i '^usage:' | grep -m 1 . || true)
     summary=${summary%.} ;;
esac
usage=$(printf '%s\n' "$help" | grep -i -m 1 '^usage:' || true)
usage=${usage#*: }                        # "Usage: " / "usage: "
usage=${usage#"$name"}                    # the program itself is printed in bold
usage=${usage# }
# The body: everything but the summary line and the usage line.
body=$(printf '%s\n' "$help" | awk -v first="$first" 'NR == 1 && $0 == first { next }
                                                 tolower($0) ~ /^usage:/ && !done { done = 1; next }
                                                 { print }' | sed -e '/./,$!d')

date=$(date -u -d "@${SOURCE_DATE_EPOCH:-$(date +%s)}" +%Y-%m-%d)
upper=$(printf '%s' "$name" | tr '[:lower:]' '[:upper:]')
others=""
for page in liaison liaison-broker liaison-site liaison-interpol liaison-bridge; do
  [ "$page" = "$name" ] && continue
  others="${others:+$others,
}.BR ${page//-/\\-} (1)"
done

page=$(
  # shellcheck disable=SC2016  # the backquotes are the page's, not the shell's
  printf '.\\" Made by packaging/help2man.sh from `%s %s`.\n' "$name" "$help_option"
  printf '.TH %s 1 "%s" "liaison %s" "Liaison"\n' "$upper" "$date" "$version"
  printf '.SH NAME\n%s \\- %s\n' "${name//-/\\-}" "$(printf '%s\n' "$summary" | escape)"
  printf '.SH SYNOPSIS\n.B %s\n' "$(printf '%s\n' "$name" | escape)"
  [ -n "$usage" ] && printf '%s\n' "$usage" | escape
  printf '.SH DESCRIPTION\n'
  printf '.nf\n'
  printf '%s\n' "$body" | escape
  printf '.fi\n'
  printf '.SH SEE ALSO\n%s\n' "$others"
  printf '.PP\n/usr/share/doc/liaison/README.md (how to set up a site and a network), and the\n'
  printf 'example configurations in /usr/share/doc/liaison/examples/.\n'
)

mkdir -p "$(dirname "$output")"
tmp="$output.tmp.$$"
case "$output" in
  *.gz) printf '%s\n' "$page" | gzip -9n > "$tmp" ;;
  *) printf '%s\n' "$page" > "$tmp" ;;
esac
mv -f "$tmp" "$output"
