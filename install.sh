#!/bin/sh
# Installs sbx from a release: downloads the one archive for this OS and
# architecture, checks its SHA-256 (against the release's SHA256SUMS, or
# against --sha256 HASH when you pin one), and only then installs the `sbx`
# binary into DIR. Anything that does not match is refused and nothing is
# installed. Needs curl, tar, gzip and sha256sum (or shasum); no root, no Rust.
#
#   sh install.sh --repo OWNER/NAME [--version v0.1.0] [--dir DIR] [--sha256 HASH]
#   sh install.sh --base-url URL [--dir DIR] [--sha256 HASH]
#
#   --repo OWNER/NAME  the GitHub repository whose releases to install from
#                      ($SBX_REPO); there is no default
#   --version TAG      the release tag, e.g. v0.1.0, or `latest` (default;
#                      $SBX_VERSION). Pin one in CI.
#   --base-url URL     the directory that holds the release's files instead
#                      (a mirror; $SBX_RELEASE_URL). https only, except http
#                      to a loopback address (127.0.0.1, [::1], localhost)
#   --dir DIR          where to install sbx (default ~/.local/bin; $SBX_INSTALL_DIR)
#   --sha256 HASH      the archive's expected SHA-256 ($SBX_SHA256): then the
#                      download must match HASH, whatever SHA256SUMS says
#   --github           GitHub Actions mode (action.yml): the defaults come from
#                      the action (its repository and, when it is a release
#                      tag like v0.1.0, its ref), DIR defaults to
#                      $RUNNER_TEMP/sbx/bin, and DIR is added to $GITHUB_PATH
#
# What SHA256SUMS protects against: a download that was cut short, corrupted
# or swapped on its way or on a mirror. It comes from the same release as the
# archive, so it cannot protect against a release that was itself replaced;
# --sha256 with a hash you recorded (or compared with another source) does.
#
# Assets: sbx-x86_64-unknown-linux-musl.tar.gz, sbx-aarch64-unknown-linux-musl.tar.gz
# (static: any Linux distribution, no libseccomp needed) and
# sbx-universal-apple-darwin.tar.gz, with SHA256SUMS (`sha256sum` format).
set -eu

say() {
	printf '%s\n' "$*" >&2
}

die() {
	say "sbx install: $*"
	exit 1
}

repo=${SBX_REPO:-}
version=${SBX_VERSION:-}
base_url=${SBX_RELEASE_URL:-}
dir=${SBX_INSTALL_DIR:-}
pinned=${SBX_SHA256:-}
github=0

while [ $# -gt 0 ]; do
	case $1 in
	--repo | --version | --base-url | --dir | --sha256)
		[ $# -ge 2 ] || die "$1 needs a value"
		case $1 in
		--repo) repo=$2 ;;
		--version) version=$2 ;;
		--base-url) base_url=$2 ;;
		--dir) dir=$2 ;;
		--sha256) pinned=$2 ;;
		esac
		shift 2
		;;
	--github)
		github=1
		shift
		;;
	-h | --help)
		if [ -f "$0" ]; then
			sed -n '2,/^set -eu/{/^set -eu/d;s/^# \{0,1\}//;p;}' "$0"
		else
			say "the usage is in the comment at the top of install.sh"
		fi
		exit 0
		;;
	*) die "unknown argument $1 (see --help)" ;;
	esac
done

if [ "$github" = 1 ]; then
	# A remote action is checked out at RUNNER/_actions/OWNER/NAME/REF; the
	# github.action_repository and github.action_ref contexts are not
	# promised inside composite actions, so this path is the fallback.
	action_repo=${SBX_ACTION_REPOSITORY:-}
	action_ref=${SBX_ACTION_REF:-}
	case ${GITHUB_ACTION_PATH:-} in
	*/_actions/*/*/*)
		rest=${GITHUB_ACTION_PATH#*/_actions/}
		owner=${rest%%/*}
		rest=${rest#*/}
		name=${rest%%/*}
		ref=${rest#*/}
		[ -n "$action_repo" ] || action_repo=$owner/$name
		[ -n "$action_ref" ] || action_ref=$ref
		;;
	esac
	[ -n "$repo" ] || repo=$action_repo
	if [ -z "$version" ]; then
		case $action_ref in
		v[0-9]*.[0-9]*.[0-9]*) version=$action_ref ;;
		esac
	fi
	[ -n "$dir" ] || dir=${RUNNER_TEMP:?RUNNER_TEMP is not set: --github is for GitHub Actions}/sbx/bin
fi

[ -n "$version" ] || version=latest
[ -n "$dir" ] || dir=${HOME:?set HOME or give --dir}/.local/bin

case $(uname -s) in
Linux)
	case $(uname -m) in
	x86_64 | amd64) target=x86_64-unknown-linux-musl ;;
	aarch64 | arm64) target=aarch64-unknown-linux-musl ;;
	*) die "no release archive for Linux on $(uname -m) (there are x86_64 and aarch64 ones); build sbx from source: cargo install --locked sbx-sandbox" ;;
	esac
	;;
Darwin) target=universal-apple-darwin ;;
*) die "no release archive for $(uname -s): sbx runs on Linux and macOS" ;;
esac
asset=sbx-$target.tar.gz

if [ -z "$base_url" ]; then
	[ -n "$repo" ] || die "no repository to install from: give --repo OWNER/NAME (or SBX_REPO), or --base-url URL; there is no default"
	case $repo in
	*[!A-Za-z0-9._/-]* | */*/* | /* | */ | *..*) die "--repo $repo is not OWNER/NAME" ;;
	*/*) ;;
	*) die "--repo $repo is not OWNER/NAME" ;;
	esac
	server=${GITHUB_SERVER_URL:-https://github.com}
	case $version in
	latest) base_url=$server/$repo/releases/latest/download ;;
	*[!A-Za-z0-9._+-]*) die "--version $version is not a release tag (like v0.1.0)" ;;
	[0-9]*) base_url=$server/$repo/releases/download/v$version ;;
	*) base_url=$server/$repo/releases/download/$version ;;
	esac
fi
base_url=${base_url%/}

# https, or plain http only to this machine (a test server, a local mirror).
case $base_url in
https://*) proto='=https' ;;
http://127.0.0.1[:/]* | http://localhost[:/]* | "http://[::1]"[:/]*) proto='=http' ;;
*) die "$base_url: refusing a download that is not https (plain http only to 127.0.0.1, [::1] or localhost)" ;;
esac

if [ -n "$pinned" ]; then
	pinned=$(printf '%s' "$pinned" | tr 'A-F' 'a-f')
	case $pinned in
	*[!0-9a-f]*) die "--sha256 $pinned is not a SHA-256 (64 hex digits)" ;;
	esac
	[ ${#pinned} -eq 64 ] || die "--sha256 $pinned is not a SHA-256 (64 hex digits)"
fi

command -v curl >/dev/null 2>&1 || die "needs curl to download (Debian/Ubuntu: apt-get install curl ca-certificates)"
if command -v sha256sum >/dev/null 2>&1; then
	sha256() { sha256sum "$1" | cut -d' ' -f1; }
elif command -v shasum >/dev/null 2>&1; then
	sha256() { shasum -a 256 "$1" | cut -d' ' -f1; }
else
	die "needs sha256sum or shasum to check the download"
fi

tmp=$(mktemp -d 2>/dev/null || mktemp -d -t sbx-install)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

download() {
	curl --fail --silent --show-error --location --proto "$proto" --proto-redir "$proto" \
		--retry 3 --connect-timeout 30 --output "$2" "$1" ||
		die "downloading $1 failed (curl's message above); check the version and the repository"
}

download "$base_url/$asset" "$tmp/$asset"
actual=$(sha256 "$tmp/$asset")

if [ -n "$pinned" ]; then
	expected=$pinned
	source="--sha256"
else
	download "$base_url/SHA256SUMS" "$tmp/SHA256SUMS"
	# `HASH  NAME` (or `HASH *NAME`): exactly one line for this asset.
	expected=$(awk -v name="$asset" '$2 == name || $2 == "*" name { print $1 }' "$tmp/SHA256SUMS")
	case $expected in
	"") die "$base_url/SHA256SUMS lists no $asset: refusing to install a download it does not vouch for" ;;
	*"
"*) die "$base_url/SHA256SUMS lists $asset more than once: refusing to install" ;;
	esac
	expected=$(printf '%s' "$expected" | tr 'A-F' 'a-f')
	source="$base_url/SHA256SUMS"
fi

if [ "$actual" != "$expected" ]; then
	die "$base_url/$asset has SHA-256 $actual, but $source says $expected: refusing to install it (a tampered or broken download; nothing was installed)"
fi
say "sbx install: $asset: SHA-256 $actual matches $source"

tar -xzf "$tmp/$asset" -C "$tmp" "sbx-$target/sbx" ||
	die "$asset holds no sbx-$target/sbx"
[ -f "$tmp/sbx-$target/sbx" ] || die "$asset: sbx-$target/sbx is not a file"

mkdir -p "$dir" || die "cannot create $dir"
# Copy next to the destination, then rename: a running sbx is never
# overwritten in place, and no half-written sbx is ever on PATH.
cp "$tmp/sbx-$target/sbx" "$dir/.sbx.install.$$" || die "cannot write into $dir"
chmod 755 "$dir/.sbx.install.$$"
mv -f "$dir/.sbx.install.$$" "$dir/sbx" || {
	rm -f "$dir/.sbx.install.$$"
	die "cannot install $dir/sbx"
}
installed=$("$dir/sbx" --version) || die "$dir/sbx was installed but does not run on this machine"
say "sbx install: installed $dir/sbx: $installed"

if [ "$github" = 1 ]; then
	if [ -n "${GITHUB_PATH:-}" ]; then
		printf '%s\n' "$dir" >>"$GITHUB_PATH"
	fi
	if [ -n "${GITHUB_OUTPUT:-}" ]; then
		printf 'path=%s\n' "$dir/sbx" >>"$GITHUB_OUTPUT"
	fi
else
	case :${PATH:-}: in
	*:"$dir":*) ;;
	*) say "sbx install: $dir is not on PATH; add it (e.g. export PATH=\"$dir:\$PATH\")" ;;
	esac
fi
