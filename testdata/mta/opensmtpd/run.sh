#!/bin/sh
# Debian's stock OpenSMTPD configuration plus README's snippets, added as
# README says (the files are in /mta-test): user.sh, the command that
# creates the delivery user, is run; conf is put before the first "match"
# line of /etc/smtpd.conf. The stock "listen on localhost" becomes
# 127.0.0.1:$SMTP_PORT of the host's network. smtpd runs in the
# foreground and logs to stderr.
set -eu
cd /mta-test
conf=/etc/smtpd.conf
grep -q '^listen on localhost$' "$conf" || { echo "no 'listen on localhost' in $conf" >&2; exit 1; }
grep -q '^match ' "$conf" || { echo "no match line in $conf" >&2; exit 1; }
sh -eu user.sh
awk -v port="$SMTP_PORT" '
  /^listen on localhost$/ { print "listen on 127.0.0.1 port " port; next }
  /^match / && !added { while ((getline line < "conf") > 0) print line; added = 1 }
  { print }' "$conf" >"$conf.new"
mv "$conf.new" "$conf"
smtpd -n -f "$conf"
exec smtpd -d -f "$conf"
