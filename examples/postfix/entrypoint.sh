#!/bin/sh
# Configure Postfix to relay every accepted message to lmtp-webhook over
# LMTP, telling it the original client with XFORWARD (for
# envelope.client, SPF and the spam scan), then run it in the foreground
# with its log on stdout.
set -eu

: "${LMTP_DESTINATION:=inet:bridge:2424}"
: "${LMTP_DATA_DONE_TIMEOUT:=120s}"
: "${MAIL_HOSTNAME:=mx.localdomain}"
: "${MYNETWORKS:=127.0.0.0/8 10.0.0.0/8 172.16.0.0/12 192.168.0.0/16}"
: "${RELAY_DOMAINS:=static:all}"

postconf -e \
  "compatibility_level = 3.6" \
  "myhostname = $MAIL_HOSTNAME" \
  'myorigin = $myhostname' \
  'smtpd_banner = $myhostname ESMTP' \
  "inet_interfaces = all" \
  "inet_protocols = ipv4" \
  "mynetworks = $MYNETWORKS" \
  "mydestination =" \
  "local_recipient_maps =" \
  "alias_maps =" \
  "alias_database =" \
  "relay_domains = $RELAY_DOMAINS" \
  "relay_transport = lmtp:$LMTP_DESTINATION" \
  "default_transport = lmtp:$LMTP_DESTINATION" \
  "lmtp_host_lookup = native" \
  "lmtp_data_done_timeout = $LMTP_DATA_DONE_TIMEOUT" \
  "lmtp_send_xforward_command = yes" \
  "smtpd_peername_lookup = no" \
  "queue_run_delay = 10s" \
  "minimal_backoff_time = 10s" \
  "maximal_backoff_time = 60s" \
  "maillog_file = /dev/stdout" \
  "biff = no"

# Log through postlogd (there is no syslog in a container), and run the
# services outside the chroot so that they resolve "bridge" with the
# container's own resolver.
postconf -M "postlog/unix-dgram = postlog unix-dgram n - n - 1 postlogd"
for svc in $(postconf -M | awk '{ print $1 "/" $2 }'); do
  postconf -F "$svc/chroot = n"
done

# A container restarted after a hard stop leaves a stale pid file behind.
rm -f /var/spool/postfix/pid/master.pid

exec postfix start-fg
