#!/bin/bash
# Runs SeaweedFS as one S3-compatible server (master, volume, filer, S3
# gateway in one process) with data under /data, SigV4 identities from the
# environment, and the bucket created once the server accepts writes.
#
# Environment:
#   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY  the one identity (required)
#   S3_BUCKET   bucket to create (default inbound-mail)
#   S3_PORT     S3 port (default 8333)
#   DATA_DIR    data directory (default /data)
#
# "healthcheck" as the argument exits 0 once the bucket exists.
set -euo pipefail

data=${DATA_DIR:-/data}
bucket=${S3_BUCKET:-inbound-mail}
s3_port=${S3_PORT:-8333}
master_port=9333
ready=$data/.bucket-ready

if [ "${1:-}" = healthcheck ]; then
  [ -f "$ready" ]
  exit
fi

: "${AWS_ACCESS_KEY_ID:?set AWS_ACCESS_KEY_ID}" "${AWS_SECRET_ACCESS_KEY:?set AWS_SECRET_ACCESS_KEY}"
mkdir -p "$data"
rm -f "$ready"
# The identities file holds the secret: readable by this user only, and
# written without the secret ever being on a command line.
umask 077
cat >"$data/identities.json" <<JSON
{"identities":[{"name":"lmtp-webhook",
  "credentials":[{"accessKey":"${AWS_ACCESS_KEY_ID}","secretKey":"${AWS_SECRET_ACCESS_KEY}"}],
  "actions":["Admin","Read","Write","List","Tagging"]}]}
JSON
umask 022

# Every port is set, gRPC ones too; the Iceberg and Lance listeners, the
# telemetry report and bucket creation on first upload are off. Volumes
# (files that grow to 1 GiB) are plenty: each bucket takes several.
weed -logtostderr server -filer -s3 -dir="$data" -ip=127.0.0.1 -ip.bind=0.0.0.0 \
  -master.port=$master_port -master.port.grpc=19333 \
  -volume.port=8080 -volume.port.grpc=18080 \
  -filer.port=8888 -filer.port.grpc=18888 \
  -s3.port="$s3_port" -s3.port.grpc=18333 \
  -s3.port.iceberg=0 -s3.port.lance=0 -s3.autoCreateBucket=false \
  -master.volumeSizeLimitMB=1024 -volume.max=100 \
  -s3.config="$data/identities.json" \
  -master.telemetry=false -master.electionTimeout=1s &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null' TERM INT

# The master refuses writes while it warms up (about 15 s after a
# restart): wait until it hands out a file id.
assigns() {
  exec 3<>"/dev/tcp/127.0.0.1/$master_port" || return 1
  printf 'GET /dir/assign HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
  local answer
  answer=$(timeout 5 cat <&3 || true)
  exec 3<&-
  [[ $answer == *'"fid"'* ]]
}
for _ in $(seq 1 120); do
  kill -0 "$pid" 2>/dev/null || { wait "$pid"; exit; }
  if assigns 2>/dev/null; then break; fi
  sleep 1
done

# Creating a bucket that exists is harmless; the list shows it either way.
for _ in $(seq 1 30); do
  echo "s3.bucket.create -name $bucket -owner lmtp-webhook" | weed shell -master=127.0.0.1:$master_port >/dev/null 2>&1 || true
  if echo "s3.bucket.list" | weed shell -master=127.0.0.1:$master_port 2>/dev/null | grep -qw -- "$bucket"; then
    touch "$ready"
    echo "seaweedfs: bucket $bucket ready on :$s3_port" >&2
    break
  fi
  sleep 1
done
[ -f "$ready" ] || echo "seaweedfs: could not create bucket $bucket" >&2

# A trapped signal ends the first wait early; the second waits for weed to
# finish its shutdown (about 16 s).
set +e
wait "$pid"
status=$?
if kill -0 "$pid" 2>/dev/null; then
  wait "$pid"
  status=$?
fi
exit "$status"
