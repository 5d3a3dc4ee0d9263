#!/bin/sh
# edgewatch pre-remove (deb prerm: remove|upgrade|deconfigure|failed-upgrade;
# rpm %preun: 0 on erase, 1 on upgrade). On removal the service is stopped
# and disabled (no enablement link is left behind); an upgrade leaves it
# running for the post-install's restart.
set -e
case "$1" in
    remove|0)
        if command -v systemctl >/dev/null 2>&1; then
            if [ -d /run/systemd/system ]; then
                systemctl stop edgewatch.service >/dev/null 2>&1 || true
            fi
            systemctl --no-reload disable edgewatch.service >/dev/null 2>&1 || true
        fi
        ;;
esac
exit 0
