#!/bin/sh
# edgewatch post-install (deb postinst: configure [OLD-VERSION]; rpm %post:
# 1 on install, 2 or more on upgrade). A fresh install does not start the
# service: it needs a configuration and credentials first. An upgrade
# restarts it if it was running.
set -e
upgrade=no
case "$1" in
    configure) [ -n "$2" ] && upgrade=yes ;;
    [2-9]) upgrade=yes ;;
esac
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    systemctl daemon-reload >/dev/null 2>&1 || true
    if [ "$upgrade" = yes ]; then
        systemctl try-restart edgewatch.service >/dev/null 2>&1 || true
    fi
fi
if [ "$upgrade" = no ]; then
    echo "edgewatch: configure /etc/edgewatch/edgewatch.yaml and its credentials, then: systemctl enable --now edgewatch"
fi
exit 0
