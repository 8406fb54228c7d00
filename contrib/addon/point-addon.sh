#!/bin/sh
# point-addon.sh — point an installed AnkiCollab add-on at an ankicollab-lite
# server, or back at upstream.
#
# The add-on keeps its server address in one line of var_defs.py in its
# folder:  API_BASE_URL = "https://plugin.ankicollab.com"
# (media links come from the server, so nothing else needs changing). This
# rewrites that line, keeping the original as var_defs.py.ankicollab-lite-orig;
# --undo puts the original back. Both are idempotent. Quit Anki first: it
# reads the address when it starts. An add-on update from AnkiWeb replaces
# var_defs.py: run this again after one.
#
#   point-addon.sh [-d ADDON_DIR] https://anki.example.org
#   point-addon.sh [-d ADDON_DIR] --undo
#   point-addon.sh [-d ADDON_DIR] --show
#
# Without -d, the AnkiCollab folder (1957538407) of the default Anki profile
# location on Linux, macOS or Windows (Git Bash, MSYS) is used.
set -eu

ADDON_ID=1957538407
MARK="# set by ankicollab-lite point-addon.sh; --undo restores the original"
prog=$(basename "$0")

usage() {
	echo "usage: $prog [-d ADDON_DIR] URL | --undo | --show" >&2
	exit 100
}

die() {
	echo "$prog: $*" >&2
	exit 1
}

find_addon() {
	for base in "${XDG_DATA_HOME:-$HOME/.local/share}/Anki2" \
	    "$HOME/Library/Application Support/Anki2" \
	    "${APPDATA:-/nonexistent}/Anki2" "$HOME/.var/app/net.ankiweb.Anki/data/Anki2"; do
		if [ -f "$base/addons21/$ADDON_ID/var_defs.py" ]; then
			echo "$base/addons21/$ADDON_ID"
			return 0
		fi
	done
	die "no AnkiCollab add-on found in the usual places; give its folder with -d"
}

dir=""
action=""
url=""
while [ $# -gt 0 ]; do
	case "$1" in
	-d) [ $# -ge 2 ] || usage; dir=$2; shift 2 ;;
	--undo) action=undo; shift ;;
	--show) action=show; shift ;;
	-h|--help) usage ;;
	-*) usage ;;
	*) [ -z "$url" ] || usage; url=$1; action=${action:-point}; shift ;;
	esac
done
[ -n "$action" ] || usage
if [ "$action" = point ]; then [ -n "$url" ] || usage; else [ -z "$url" ] || usage; fi
[ -n "$dir" ] || dir=$(find_addon)

defs="$dir/var_defs.py"
orig="$defs.ankicollab-lite-orig"
[ -f "$defs" ] || die "$defs: not found (is $dir the AnkiCollab add-on's folder?)"
n=$(grep -c '^API_BASE_URL[[:space:]]*=' "$defs" || true)
[ "$n" = 1 ] || die "$defs: expected one API_BASE_URL line, found $n (an add-on version this script does not know)"

current() {
	sed -n 's/^API_BASE_URL[[:space:]]*=[[:space:]]*["'\'']\([^"'\'']*\)["'\''].*/\1/p' "$defs"
}

# Python reads the source again when its size or time changes; drop the
# cached bytecode anyway, so no stale address survives.
drop_cache() {
	rm -f "$dir"/__pycache__/var_defs.*.pyc
}

case "$action" in
show)
	current
	;;
point)
	url=${url%/}
	printf '%s\n' "$url" | grep -Eq '^https?://[A-Za-z0-9._~:/?#@!$&()*+,;=%-]+$' ||
	    die "$url: not an http(s) URL"
	case "$url" in *\'*|*\\*) die "$url: not an http(s) URL" ;; esac
	# A var_defs.py without our mark is the add-on's own: keep it (again,
	# after an update replaced it).
	if ! grep -qF "$MARK" "$defs"; then
		cp -p "$defs" "$orig.tmp" && mv -f "$orig.tmp" "$orig"
	fi
	[ -f "$orig" ] || die "$orig: the original is missing; reinstall the add-on"
	esc=$(printf '%s\n' "$url" | sed 's/[&|]/\\&/g')
	sed "s|^API_BASE_URL[[:space:]]*=.*|API_BASE_URL = \"$esc\"  $MARK|" "$orig" > "$defs.tmp"
	mv -f "$defs.tmp" "$defs"
	drop_cache
	echo "$dir: API_BASE_URL = $url (the original is kept in $(basename "$orig"))"
	;;
undo)
	if grep -qF "$MARK" "$defs"; then
		[ -f "$orig" ] || die "$orig: the original is missing; reinstall the add-on"
		mv -f "$orig" "$defs"
		drop_cache
		echo "$dir: API_BASE_URL = $(current) (restored)"
	else
		rm -f "$orig"
		echo "$dir: API_BASE_URL = $(current) (not pointed by $prog; nothing to undo)"
	fi
	;;
esac
