#!/bin/sh
# deb postinst (electron-builder's deb.afterInstall): a system user for the agent, its unit, and
# the policy folder. The service starts only when a managed policy exists: a personal install
# runs the engine inside the desktop app instead.
set -e
if ! getent passwd shoal >/dev/null 2>&1; then
  adduser --system --group --home /var/lib/shoal --no-create-home --quiet shoal || useradd --system --user-group --home-dir /var/lib/shoal --shell /usr/sbin/nologin shoal
fi
install -d -m 0755 /etc/shoal
install -m 0644 /opt/Shoal/resources/service/shoal-agent.service /lib/systemd/system/shoal-agent.service
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  if [ -f /etc/shoal/policy.json ]; then
    systemctl enable --now shoal-agent.service
  fi
fi
exit 0
