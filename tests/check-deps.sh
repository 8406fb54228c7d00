#!/bin/sh
# Installs the Debian packages named as arguments that are missing, with
# apt-get as root or through password-less sudo; otherwise names them and fails.
missing=""
for p in "$@"; do
	s=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)
	case "$s" in *"install ok installed"*) ;; *) missing="$missing $p" ;; esac
done
[ -z "$missing" ] && exit 0
echo "deps: installing missing Debian packages:$missing"
if [ "$(id -u)" -eq 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	SUDO="sudo -n"
else
	echo "deps: cannot install as $(id -un). Run as root:" >&2
	echo "  apt-get install$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y -q $missing || {
	$SUDO apt-get update -q && $SUDO apt-get install -y -q $missing
} || { echo "deps: apt-get failed for:$missing" >&2; exit 1; }
