#!/bin/sh
# Debian's stock Exim configuration, set up as a mail server that takes
# mail from the Internet ("internet site"), plus README's snippets, added
# where README says (the files are in /mta-test): relay, appended to
# update-exim4.conf.conf (empty when the test checks that mail is refused
# without it); router, first after "begin routers", and transport, after
# "begin transports", in the template of the default (non-split)
# configuration. Then Exim runs in the foreground, listening on
# 127.0.0.1:$SMTP_PORT of the host's network, and logs to
# /var/log/exim4/mainlog.
set -eu
cd /mta-test
template=/etc/exim4/exim4.conf.template
for section in routers transports; do
  grep -q "^begin $section\$" "$template" || { echo "no 'begin $section' in $template" >&2; exit 1; }
done
echo "dc_eximconfig_configtype='internet'" >>/etc/exim4/update-exim4.conf.conf
cat relay >>/etc/exim4/update-exim4.conf.conf
sed -i -e '/^begin routers$/r router' -e '/^begin transports$/r transport' "$template"
update-exim4.conf
exim4 -bV >/dev/null
exec exim4 -bdf -q1s -oX "<; 127.0.0.1.$SMTP_PORT"
