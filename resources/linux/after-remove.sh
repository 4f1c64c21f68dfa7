#!/bin/sh
# deb postrm: stop and remove the agent unit; keep /etc/shoal (the administrator's policy) and /var/lib/shoal.
set -e
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl disable --now shoal-agent.service >/dev/null 2>&1 || true
fi
rm -f /lib/systemd/system/shoal-agent.service
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
fi
exit 0
