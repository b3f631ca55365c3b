#!/usr/bin/env bash
# Installs a camagent .deb with dpkg on this machine, checks the files, the
# user and the unit, upgrades it over itself (the edited settings must
# survive), then purges it and checks that nothing is left. Needs root.
# Refuses to run where camagent is already installed or a camagent user
# already exists, so it never touches a real installation.
set -euo pipefail
deb=${1:?usage: deb-test.sh camagent_VERSION_amd64.deb}
[ -f "$deb" ] || { echo "deb-test: $deb not found" >&2; exit 1; }

sudo=""
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
		echo "deb-test: need root to install $deb" >&2
		exit 1
	fi
fi
if dpkg-query -W -f='${Status}' camagent 2>/dev/null | grep -q installed; then
	echo "deb-test: camagent is already installed here; not touching it" >&2
	exit 1
fi
if getent passwd camagent >/dev/null || getent group camagent >/dev/null; then
	echo "deb-test: a camagent user or group exists already; not touching it" >&2
	exit 1
fi

fail() { echo "deb-test: FAIL: $*" >&2; exit 1; }
purge() { $sudo dpkg --purge camagent >/dev/null 2>&1 || true; }
trap purge EXIT

if [ -d /run/systemd/system ]; then booted=yes; else booted=no; fi
echo "deb-test: installing $deb (systemd running: $booted)"
$sudo dpkg -i "$deb"

mode() { stat -c '%a %U:%G' "$1"; }
[ "$(mode /usr/bin/camagent)" = "755 root:root" ] || fail "/usr/bin/camagent: $(mode /usr/bin/camagent)"
[ "$(mode /lib/systemd/system/camagent.service)" = "644 root:root" ] || fail "unit: $(mode /lib/systemd/system/camagent.service)"
[ "$(mode /etc/default/camagent)" = "600 root:root" ] || fail "/etc/default/camagent: $(mode /etc/default/camagent)"
dpkg-query -W -f='${Conffiles}\n' camagent | grep -q '/etc/default/camagent' || fail "/etc/default/camagent is not a conffile"
/usr/bin/camagent -version | grep -q "linux/amd64" || fail "camagent -version: $(/usr/bin/camagent -version)"

IFS=: read -r _ _ uid _ _ home shell < <(getent passwd camagent) || fail "no camagent user"
[ "$uid" -lt 1000 ] || fail "camagent uid $uid is not a system uid"
[ "$shell" = /usr/sbin/nologin ] || fail "camagent shell $shell"
[ ! -e "$home" ] || fail "camagent home $home exists"
id -nG camagent | tr ' ' '\n' | grep -qx video || fail "camagent is not in group video: $(id -nG camagent)"
echo "deb-test: user: $(id camagent)"

out=$(systemd-analyze verify /lib/systemd/system/camagent.service 2>&1) || fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify warns: $out"
echo "deb-test: systemd-analyze verify on the installed unit: ok"
[ -L /etc/systemd/system/multi-user.target.wants/camagent.service ] || fail "camagent.service is not enabled"
if [ "$booted" = yes ]; then
	for _ in $(seq 60); do systemctl is-active -q camagent && break; sleep 0.5; done
	systemctl is-active -q camagent || fail "camagent.service is not active: $(systemctl status --no-pager camagent 2>&1)"
	echo "deb-test: camagent.service is active"
fi
# The camagent user can run it (the unit adds the port capability).
setpriv --reuid=camagent --regid=camagent --init-groups /usr/bin/camagent -version >/dev/null || fail "camagent cannot run as user camagent"

# Upgrade over itself: settings the admin edited stay.
echo 'CAMAGENT_FPS=15' | $sudo tee -a /etc/default/camagent >/dev/null
$sudo dpkg -i "$deb"
grep -qx 'CAMAGENT_FPS=15' /etc/default/camagent || fail "reinstalling lost the edited /etc/default/camagent"
[ "$(mode /etc/default/camagent)" = "600 root:root" ] || fail "/etc/default/camagent after upgrade: $(mode /etc/default/camagent)"
echo "deb-test: upgrade kept /etc/default/camagent"

$sudo dpkg --purge camagent
trap - EXIT
for f in /usr/bin/camagent /lib/systemd/system/camagent.service /etc/default/camagent /etc/systemd/system/multi-user.target.wants/camagent.service; do
	[ ! -e "$f" ] && [ ! -L "$f" ] || fail "$f left after purge"
done
! getent passwd camagent >/dev/null || fail "user camagent left after purge"
! getent group camagent >/dev/null || fail "group camagent left after purge"
echo "deb-test: purged; no files, user or group left"
