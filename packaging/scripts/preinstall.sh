#!/bin/sh
# edgewatch pre-install (deb preinst: install|upgrade; rpm %pre: 1|2).
# The service user and group exist before the files are unpacked, so that
# /etc/edgewatch and its configuration unpack as root:edgewatch.
set -e
if ! getent group edgewatch >/dev/null 2>&1; then
    groupadd --system edgewatch
fi
if ! getent passwd edgewatch >/dev/null 2>&1; then
    useradd --system --gid edgewatch --home-dir /var/lib/edgewatch --no-create-home \
        --shell /usr/sbin/nologin --comment "edgewatch service" edgewatch
fi
exit 0
