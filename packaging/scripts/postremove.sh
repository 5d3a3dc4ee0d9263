#!/bin/sh
# edgewatch post-remove (deb postrm: remove|purge|upgrade|…; rpm %postun: 0
# on erase, 1 on upgrade). Removal keeps the configuration (a dpkg conffile,
# an rpm %config) and the service user; `dpkg --purge` also removes the
# state directory /var/lib/edgewatch and the user and group. Nothing here
# touches a cluster: indices, alerts and checkpoints stay where they are.
set -e
case "$1" in
    remove|0)
        if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
            systemctl daemon-reload >/dev/null 2>&1 || true
        fi
        ;;
    purge)
        rm -rf /var/lib/edgewatch
        # dpkg removed the conffile; what an operator added stays.
        rmdir /etc/edgewatch 2>/dev/null || true
        if getent passwd edgewatch >/dev/null 2>&1; then
            userdel edgewatch >/dev/null 2>&1 || true
        fi
        if getent group edgewatch >/dev/null 2>&1; then
            groupdel edgewatch >/dev/null 2>&1 || true
        fi
        ;;
esac
exit 0
