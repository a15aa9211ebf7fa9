# shellcheck shell=bash
# Shared by the scripts/install-*.sh scripts (sourced, never run): the one
# copy of "install these Debian packages if dpkg-query says they are
# absent". Idempotent: nothing is downloaded when every package is
# installed, and `apt-get update` runs at most once per script: first only
# when a missing package has no candidate in the current lists (a fresh
# container has none), else only to retry an install that failed on stale
# lists. Works as root with no stdin (CI), or through passwordless sudo.

# The sourcing script's name prefixes every message.
lib_tag=$(basename "$0" .sh)

log() { printf '%s: %s\n' "$lib_tag" "$*" >&2; }
die() {
	log "$*"
	exit 1
}

# have_dpkg reports whether this is a Debian-based system; the callers each
# accept their tools installed some other way when it is not.
have_dpkg() { command -v dpkg-query >/dev/null 2>&1; }

is_installed() {
	[[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]
}

# missing_packages PKG... sets the array `missing` to those not installed.
missing_packages() {
	missing=()
	local p
	for p in "$@"; do
		is_installed "$p" || missing+=("$p")
	done
}

# as_root_init PKG... sets the array `as_root` to the prefix that runs a
# command as root (empty for root, `sudo -n` where that works), or fails
# saying how to install PKG by hand.
as_root_init() {
	if ((EUID == 0)); then
		as_root=()
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		as_root=(sudo -n)
	else
		die "need root to install $*: run as root, or: sudo apt-get install $*"
	fi
}

apt_updated=0
apt_update() {
	((apt_updated)) && return 0
	apt_updated=1
	log "apt-get update"
	"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null ||
		die "apt-get update failed (network or sources.list?)"
}

apt_get_install() {
	"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		-o DPkg::Lock::Timeout=300 -o Dpkg::Use-Pty=0 --no-install-recommends "$@" </dev/null
}

# apt_install PKG... installs the packages (call it with the missing ones,
# after as_root_init) and checks that dpkg then lists each as installed.
apt_install() {
	command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install $* by hand"
	local p cand
	for p in "$@"; do
		cand=$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/ {print $2}')
		if [[ -z $cand || $cand == "(none)" ]]; then
			apt_update
			break
		fi
	done
	log "apt-get install $*"
	if ! apt_get_install "$@"; then
		((apt_updated)) && die "apt-get install $* failed"
		# Stale lists (packages moved on the mirror): refresh once, retry.
		log "install failed; apt-get update and retry"
		apt_update
		apt_get_install "$@" || die "apt-get install $* failed"
	fi
	for p in "$@"; do
		is_installed "$p" || die "$p still not installed after apt-get install"
	done
	log "installed $*"
}

# ensure_packages PKG... is the whole job for most callers: install what
# is missing, or say that all are present.
ensure_packages() {
	missing_packages "$@"
	if ((${#missing[@]} == 0)); then
		log "packages present: $*"
		return 0
	fi
	as_root_init "${missing[@]}"
	apt_install "${missing[@]}"
}
