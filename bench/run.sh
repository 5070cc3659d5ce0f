#!/usr/bin/env bash
# End-to-end benchmark of lmtp-webhook against Postfix's smtp-sink, in one
# run on this machine. It builds the bridge and the helpers under bench/,
# then measures:
#
#   1. smtp-source -L -s 20 -m N -l 4096 against smtp-sink -L (the ceiling),
#      against bench/floor (the least a go-smtp and net/http bridge can do:
#      raw bytes POSTed per recipient, nothing parsed, encoded or logged)
#      and against the bridge, both posting to bench/receiver;
#   2. the same with 5 recipients per message (-r 5); the time each extra
#      recipient adds is compared with the floor's;
#      then both again with bench/pipeload, which pipelines MAIL, RCPT and
#      DATA as Postfix's lmtp client does (smtp-source does not);
#   3. the real-mail mix: the messages of testdata/corpus (median 1.6 KB,
#      p99 about 110 KB: MUA samples, newsletters, spam, bounces, CJK and
#      Cyrillic mail), each sent as it is, pipelined by bench/pipeload,
#      to 1 and then 3 recipients, against the floor and the bridge:
#      msgs/s, MB/s, CPU per message and per MB of each process (from
#      /proc), and the bridge's time against the floor's;
#   4. one large message (20 MiB, one big attachment) to 5 recipients,
#      on a fresh bridge: peak RSS, and goroutines, open fds and memory
#      before and after; with STORAGE=1, again on a fresh bridge whose
#      STORAGE_URL points at a local SeaweedFS (bench/s3, the binary
#      .ci/seaweedfs builds), so that the attachment is uploaded once and
#      linked instead of inlined.
#
# Every delivery must be counted by the receiver, and nothing may be left
# growing after the load; the script exits non-zero otherwise. The ratios
# are printed against their targets but, depending on the machine, do not
# fail the run. Usage:
#
#   bench/run.sh               # N=4000, 3 rounds, median times
#   N=10000 ROUNDS=5 bench/run.sh
#   BRIDGE=/path/to/lmtp-webhook bench/run.sh   # measure another build
#   BRIDGE_LOG_LEVEL=warn bench/run.sh          # without the info log lines
#   STORAGE=1 bench/run.sh     # the large message also with object storage
#   LARGE_ONLY=1 bench/run.sh  # only step 3 (with STORAGE=1: both variants)
#   QUICK=1 bench/run.sh       # N=1000, 1 round: a first look in about a minute
#   PROFILE=1 bench/run.sh     # also a CPU profile of the bridge under the mix:
#                              # bench/out/mix.pprof (go tool pprof -top bench/out/lmtp-webhook bench/out/mix.pprof)
#
# Needs Go, curl, and smtp-source/smtp-sink (installed with apt-get when
# missing and run as root). Output and logs go to bench/out/.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=${GOTOOLCHAIN:-go1.27.3}

if [ "${QUICK:-}" = 1 ]; then
  N=${N:-1000} ROUNDS=${ROUNDS:-1}
fi
N=${N:-4000}               # messages per run
SESSIONS=${SESSIONS:-20}   # parallel LMTP sessions
LENGTH=${LENGTH:-4096}     # body bytes of each small message
ROUNDS=${ROUNDS:-3}        # repetitions of each small-message run; the median counts
BIG=${BIG:-$((20 << 20))}  # size of the large message
STORAGE=${STORAGE:-0}      # 1: measure the large message with STORAGE_URL too
LARGE_ONLY=${LARGE_ONLY:-0} # 1: skip the small-message runs
MANIFEST=${MANIFEST:-testdata/corpus/MANIFEST.tsv} # the real-mail mix
MIX=$(($(wc -l <"$MANIFEST") - 1))                 # messages in it
MIXN=${MIXN:-$((2 * MIX))}                         # messages per real-mail run: each twice
OUT=bench/out
mkdir -p "$OUT"

say() { printf '%s\n' "$*" >&2; }
die() { say "bench: $*"; exit 1; }

# --- tools -------------------------------------------------------------
if ! command -v smtp-source >/dev/null || ! command -v smtp-sink >/dev/null; then
  [ "$(id -u)" = 0 ] || die "smtp-source/smtp-sink missing: apt-get install postfix"
  say "installing postfix (for smtp-source and smtp-sink)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends postfix >/dev/null
  postfix stop >/dev/null 2>&1 || true
fi
PATH=$PATH:/usr/sbin
command -v curl >/dev/null || die "curl missing"

say "building"
if [ -n "${BRIDGE:-}" ]; then
  cp "$BRIDGE" "$OUT/lmtp-webhook" # compare another build with the same load
else
  tags=()
  [ "${PROFILE:-}" = 1 ] && tags=(-tags pprof) # serves net/http/pprof on BENCH_PPROF_LISTEN
  go build "${tags[@]}" -o "$OUT/lmtp-webhook" .
fi
go build -o "$OUT/receiver" ./bench/receiver
go build -o "$OUT/floor" ./bench/floor
go build -o "$OUT/pipeload" ./bench/pipeload
go build -o "$OUT/bigmsg" ./bench/bigmsg
go build -o "$OUT/scrape" ./bench/scrape
[ "$STORAGE" = 1 ] && go build -o "$OUT/s3" ./bench/s3

# --- processes ---------------------------------------------------------
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# free_port sets PORT to the next port nobody listens on (not in a
# subshell, so that the counter moves on).
next=${BENCH_PORT:-24600}
free_port() {
  while port_in_use "$next"; do next=$((next + 1)); done
  PORT=$next
  next=$((next + 1))
}
wait_port() {
  for _ in $(seq 200); do port_in_use "$1" && return 0; sleep 0.05; done
  die "nothing listening on port $1"
}

free_port; RPORT=$PORT
"$OUT/receiver" -listen "127.0.0.1:$RPORT" 2>"$OUT/receiver.log" &
RECVPID=$!
pids+=("$RECVPID")
free_port; SPORT=$PORT
sink_user=()
[ "$(id -u)" = 0 ] && sink_user=(-u nobody)
smtp-sink -L "${sink_user[@]}" "127.0.0.1:$SPORT" 256 2>"$OUT/sink.log" &
SINKPID=$!
pids+=("$SINKPID")
wait_port "$RPORT"
wait_port "$SPORT"
RECV=http://127.0.0.1:$RPORT
free_port; FPORT=$PORT
"$OUT/floor" -listen "127.0.0.1:$FPORT" -url "$RECV/floor" 2>"$OUT/floor.log" &
FLOORPID=$!
pids+=("$FLOORPID")
wait_port "$FPORT"

# start_bridge [VAR=value...] starts a bridge with default settings, and
# the variables given, posting to the receiver, sender checks aside (they
# would ask the machine's resolver; BenchmarkDeliverAuth measures them
# against a loopback one); it sets BPID, BPORT and METRICS.
start_bridge() {
  free_port; BPORT=$PORT
  free_port; local aport=$PORT
  free_port; PPROF=127.0.0.1:$PORT
  env AUTH_CHECKS=false BENCH_PPROF_LISTEN="$PPROF" LOG_LEVEL="${BRIDGE_LOG_LEVEL:-info}" WEBHOOK_URL="$RECV/hook" LMTP_LISTEN="127.0.0.1:$BPORT" HTTP_LISTEN="127.0.0.1:$aport" "$@" \
    "$OUT/lmtp-webhook" 2>>"$OUT/bridge.log" &
  BPID=$!
  pids+=("$BPID")
  wait_port "$BPORT"
  wait_port "$aport"
  METRICS=http://127.0.0.1:$aport/metrics
}
stop_bridge() {
  kill -TERM "$BPID"
  wait "$BPID" || die "bridge exited with $?"
}

# cpu PID: user+system CPU seconds the process has used.
TICKS=$(getconf CLK_TCK)
cpu() { awk -v t="$TICKS" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$1/stat"; }

delivered() { "$OUT/scrape" deliveries "$RECV/count" | cut -d' ' -f1; }
bad() { "$OUT/scrape" deliveries "$RECV/count" | cut -d' ' -f2; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
median() { tr -s ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# source PORT RCPTS: one smtp-source run; prints its wall time in seconds.
source_run() {
  local t0 t1
  t0=$(now)
  smtp-source -L -s "$SESSIONS" -m "$N" -l "$LENGTH" -r "$2" \
    -f sender@example.org -t user@example.com "127.0.0.1:$1" >>"$OUT/source.log" 2>&1 ||
    die "smtp-source failed against port $1 (see $OUT/source.log)"
  t1=$(now)
  secs "$t0" "$t1"
}

# pipe_run PORT RCPTS: the same load with commands pipelined, as
# Postfix's lmtp client sends them; prints its wall time in seconds.
pipe_run() {
  local t0 t1
  t0=$(now)
  "$OUT/pipeload" -s "$SESSIONS" -m "$N" -l "$LENGTH" -r "$2" -addr "127.0.0.1:$1" >>"$OUT/source.log" 2>&1 ||
    die "pipeload failed against port $1 (see $OUT/source.log)"
  t1=$(now)
  secs "$t0" "$t1"
}

: >"$OUT/bridge.log"
COUNT_OK=1
declare -A TIMES RATIOS CPUS RCPUS LAT W
med() { echo "${RATIOS[$1]}" | median; }

# --- small messages ----------------------------------------------------
if [ "$LARGE_ONLY" != 1 ]; then
start_bridge
say "warming up"
N=200 source_run "$SPORT" 1 >/dev/null
N=200 source_run "$FPORT" 5 >/dev/null
N=200 source_run "$BPORT" 5 >/dev/null

# Each round runs the sink, the floor and the bridge with 1 recipient,
# then again with 5, and every ratio is taken within a round, so that a
# change in the machine's background load between rounds shifts all sides
# alike. The medians of the per-round figures are reported.
# fan_out PREFIX: records, for each side, this round's 5-recipient time
# against its 1-recipient time, and the wall microseconds each extra
# recipient added, under RATIOS[PREFIXfive...] and RATIOS[PREFIXextra...].
fan_out() {
  local side a b
  for side in sink floor bridge; do
    a=${W[${side}1]} b=${W[${side}5]}
    RATIOS[${1}five$side]+=" $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", b / a }')"
    RATIOS[${1}extra$side]+=" $(awk -v a="$a" -v b="$b" -v n="$N" 'BEGIN { printf "%.1f", (b - a) * 1e6 / n / 4 }')"
  done
}
for round in $(seq "$ROUNDS"); do
  for r in 1 5; do
    st=$(source_run "$SPORT" "$r")
    ft=$(source_run "$FPORT" "$r")
    curl -fsS "$METRICS" >"$OUT/metrics.before"
    before=$(delivered)
    c0=$(cpu "$BPID") rc0=$(cpu "$RECVPID")
    bt=$(source_run "$BPORT" "$r")
    c1=$(cpu "$BPID") rc1=$(cpu "$RECVPID")
    after=$(delivered)
    curl -fsS "$METRICS" >"$OUT/metrics.after"
    want=$((N * r))
    got=$((after - before))
    if [ "$got" != "$want" ]; then
      say "COUNT MISMATCH: $r rcpt round $round: receiver counted $got deliveries, want $want"
      COUNT_OK=0
    fi
    TIMES[sink$r]+=" $st" TIMES[floor$r]+=" $ft" TIMES[bridge$r]+=" $bt"
    W[sink$r]=$st W[floor$r]=$ft W[bridge$r]=$bt
    RATIOS[sink$r]+=" $(awk -v a="$bt" -v b="$st" 'BEGIN { printf "%.3f", a / b }')"
    RATIOS[floor$r]+=" $(awk -v a="$bt" -v b="$ft" 'BEGIN { printf "%.3f", a / b }')"
    RATIOS[floorsink$r]+=" $(awk -v a="$ft" -v b="$st" 'BEGIN { printf "%.3f", a / b }')"
    cpu_ms=$(awk -v a="$c0" -v b="$c1" -v n="$N" 'BEGIN { printf "%.3f", (b - a) * 1000 / n }')
    CPUS[$r]+=" $cpu_ms"
    RCPUS[$r]+=" $(awk -v a="$rc0" -v b="$rc1" -v n="$N" 'BEGIN { printf "%.3f", (b - a) * 1000 / n }')"
    LAT[$r]="$("$OUT/scrape" quantiles "$OUT/metrics.before" "$OUT/metrics.after")"
    say "  round $round, $r rcpt: sink ${st}s floor ${ft}s bridge ${bt}s (bridge CPU $cpu_ms ms/msg)  ${LAT[$r]}  deliveries $got/$want"
  done
  fan_out ""
done

# The same rounds with a pipelining client: the RCPT round trips are gone,
# and what each extra recipient costs is mostly its POST.
for round in $(seq "$ROUNDS"); do
  for r in 1 5; do
    st=$(pipe_run "$SPORT" "$r")
    ft=$(pipe_run "$FPORT" "$r")
    before=$(delivered)
    bt=$(pipe_run "$BPORT" "$r")
    got=$(($(delivered) - before))
    if [ "$got" != $((N * r)) ]; then
      say "COUNT MISMATCH: pipelined $r rcpt round $round: receiver counted $got deliveries, want $((N * r))"
      COUNT_OK=0
    fi
    W[sink$r]=$st W[floor$r]=$ft W[bridge$r]=$bt
    RATIOS[pfloor$r]+=" $(awk -v a="$bt" -v b="$ft" 'BEGIN { printf "%.3f", a / b }')"
    RATIOS[psink$r]+=" $(awk -v a="$bt" -v b="$st" 'BEGIN { printf "%.3f", a / b }')"
    say "  pipelined round $round, $r rcpt: sink ${st}s floor ${ft}s bridge ${bt}s  deliveries $got/$((N * r))"
  done
  fan_out p
done

# --- the real-mail mix ---------------------------------------------------
# mix_run PORT RCPTS PID: the corpus pipelined at one server; prints its
# wall seconds, the bytes sent after DATA and the CPU seconds PID used.
mix_run() {
  local t0 t1 c0 c1 out
  c0=$(cpu "$3")
  t0=$(now)
  out=$("$OUT/pipeload" -s "$SESSIONS" -m "${4:-$MIXN}" -r "$2" -corpus "$MANIFEST" -addr "127.0.0.1:$1" 2>>"$OUT/source.log") ||
    die "pipeload -corpus failed against port $1 (see $OUT/source.log)"
  t1=$(now)
  c1=$(cpu "$3")
  echo "$(secs "$t0" "$t1") $(echo "$out" | awk '{ print $3 }') $(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.3f", b - a }')"
}
say "real-mail mix: $MIX messages from $MANIFEST, $MIXN per run"
mix_run "$FPORT" 1 "$FLOORPID" "$MIX" >/dev/null # warm up
mix_run "$BPORT" 1 "$BPID" "$MIX" >/dev/null
declare -A MT MC MF MX
for round in $(seq "$ROUNDS"); do
  for r in 1 3; do
    read -r ft fbytes fc < <(mix_run "$FPORT" "$r" "$FLOORPID")
    before=$(delivered)
    read -r bt bbytes bc < <(mix_run "$BPORT" "$r" "$BPID")
    got=$(($(delivered) - before))
    if [ "$got" != $((MIXN * r)) ]; then
      say "COUNT MISMATCH: real-mail mix $r rcpt round $round: receiver counted $got deliveries, want $((MIXN * r))"
      COUNT_OK=0
    fi
    MT[floor$r]+=" $ft" MT[bridge$r]+=" $bt" MC[floor$r]+=" $fc" MC[bridge$r]+=" $bc"
    MX[$r]+=" $(awk -v a="$bt" -v b="$ft" 'BEGIN { printf "%.3f", a / b }')"
    MBYTES=$bbytes
    say "  real-mail round $round, $r rcpt: floor ${ft}s (${fc}s CPU) bridge ${bt}s (${bc}s CPU)  deliveries $got/$((MIXN * r))"
  done
done
if [ "${PROFILE:-}" = 1 ]; then
  say "profiling the bridge under the mix, 1 recipient"
  curl -fsS -o "$OUT/mix.pprof" "http://$PPROF/debug/pprof/profile?seconds=20" &
  CURLPID=$!
  before=$(delivered)
  for _ in $(seq 10); do
    mix_run "$BPORT" 1 "$BPID" >/dev/null
    kill -0 "$CURLPID" 2>/dev/null || break
  done
  wait "$CURLPID" || die "no profile from $PPROF"
  curl -fsS -o "$OUT/mix.heap.pprof" "http://$PPROF/debug/pprof/allocs"
fi
stop_bridge
fi
kill "$FLOORPID" # its keep-alive connections to the receiver go with it
wait "$FLOORPID" 2>/dev/null || true

# --- one large message -------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
rate() { awk -v n="$1" -v t="$2" 'BEGIN { printf "%.0f", n / t }'; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
# snapshot prints goroutines, open fds, RSS and heap in use: the least of
# three readings half a second apart, so that a goroutine or a socket that
# is just finishing does not count.
snapshot() {
  for _ in 1 2 3; do
    "$OUT/scrape" get "$METRICS" go_goroutines process_open_fds process_resident_memory_bytes go_memstats_heap_inuse_bytes
    sleep 0.5
  done | awk 'NR == 1 { for (i = 1; i <= 4; i++) m[i] = $i }
    { for (i = 1; i <= 4; i++) if ($i < m[i]) m[i] = $i }
    END { printf "%d %d %d %d\n", m[1], m[2], m[3], m[4] }'
}
# keepalive counts the bridge's connections to the receiver: each idle
# keep-alive connection holds one fd and two goroutines by design.
keepalive() {
  awk -v p="$(printf '%04X' "$RPORT")" \
    'FNR > 1 && $4 == "01" { split($3, a, ":"); if (a[2] == p) n++ } END { print n + 0 }' /proc/net/tcp /proc/net/tcp6
}
hwm() { awk '/^VmHWM:/ { print $2 * 1024 }' "/proc/$BPID/status"; }
GROWTH_OK=1
# large_run LABEL TARGET [VAR=value...] sends the large message three
# times to a fresh bridge started with the variables given, and writes its
# report, with the peak's TARGET ratio, to $OUT/large-LABEL.txt.
large_run() {
  local label=$1 target=$2
  shift 2
  say "large message ($label): $BIG bytes to 5 recipients, fresh bridge"
  start_bridge "$@"
  local g0 f0 r0 h0 k0 g1 f1 r1 h1 k1 g2 f2 r2 h2 k2 before big peak peak2 got
  # One small message first, so that the process has started everything
  # it starts once.
  "$OUT/bigmsg" -addr "127.0.0.1:$BPORT" -size 8192 -rcpts 5 >/dev/null
  sleep 1
  read -r g0 f0 r0 h0 < <(snapshot)
  k0=$(keepalive)
  before=$(delivered)
  big=$("$OUT/bigmsg" -addr "127.0.0.1:$BPORT" -size "$BIG" -rcpts 5) || die "large message not delivered"
  peak=$(hwm)
  sleep 3 # let the answers' keep-alive reads, timers and the scavenger settle
  read -r g1 f1 r1 h1 < <(snapshot)
  k1=$(keepalive)
  # Two more, one after the other: nothing may keep growing.
  "$OUT/bigmsg" -addr "127.0.0.1:$BPORT" -size "$BIG" -rcpts 5 -count 2 >/dev/null || die "large message not delivered"
  peak2=$(hwm)
  sleep 3
  read -r g2 f2 r2 h2 < <(snapshot)
  k2=$(keepalive)
  got=$(($(delivered) - before))
  [ "$got" = 15 ] || { say "COUNT MISMATCH: large messages ($label): receiver counted $got deliveries, want 15"; COUNT_OK=0; }
  stop_bridge
  # Idle keep-alive connections (one fd and two goroutines each, closed
  # after 90s idle) are the only growth allowed, and more large messages
  # must not leave more behind than one did.
  if [ $((g1 - 2 * k1)) -gt $((g0 - 2 * k0)) ] || [ $((f1 - k1)) -gt $((f0 - k0)) ] ||
    [ $((g2 - 2 * k2)) -gt $((g0 - 2 * k0)) ] || [ $((f2 - k2)) -gt $((f0 - k0)) ] ||
    [ $((r2 - r1)) -gt $((BIG / 10)) ]; then
    say "GROWTH ($label): beyond the keep-alive pool, or growing with the number of messages"
    GROWTH_OK=0
  fi
  state() { echo "goroutines $1, open fds $2 ($3 keep-alive to the webhook), RSS $(mib "$4") MiB, heap in use $(mib "$5") MiB"; }
  {
    echo "large message ($label): $big"
    echo "  peak RSS (VmHWM) of a fresh bridge: $(mib "$peak") MiB = $(ratio "$peak" "$BIG") x message size  (target <= $target)"
    echo "  peak RSS after 3 large messages:    $(mib "$peak2") MiB = $(ratio "$peak2" "$BIG") x message size"
    echo "  before:              $(state "$g0" "$f0" "$k0" "$r0" "$h0")"
    echo "  3s after 1 message:  $(state "$g1" "$f1" "$k1" "$r1" "$h1")"
    echo "  3s after 3 messages: $(state "$g2" "$f2" "$k2" "$r2" "$h2")"
    echo "  RSS left after the load: +$(mib $((r1 - r0))) MiB = $(ratio $((r1 - r0)) "$BIG") x message size"
  } >"$OUT/large-$label.txt"
}
large_run inline 4
if [ "$STORAGE" = 1 ]; then
  # A local S3 server: bench/s3 prints the STORAGE_URL and credentials
  # once it accepts writes.
  weed=$(.ci/seaweedfs)
  "$OUT/s3" -weed "$weed" >"$OUT/s3.out" 2>"$OUT/s3.log" &
  S3PID=$!
  pids+=("$S3PID")
  for _ in $(seq 1200); do
    [ "$(wc -l <"$OUT/s3.out")" -ge 3 ] && break
    kill -0 "$S3PID" 2>/dev/null || die "bench/s3 exited (see $OUT/s3.log)"
    sleep 0.1
  done
  [ "$(wc -l <"$OUT/s3.out")" -ge 3 ] || die "no S3 server within 120s (see $OUT/s3.log)"
  mapfile -t s3env <"$OUT/s3.out"
  large_run storage 3 STORAGE_URL="${s3env[0]}" "${s3env[@]:1}"
  kill -TERM "$S3PID"
  wait "$S3PID" 2>/dev/null || true
fi
[ "$(bad)" = 0 ] || { say "receiver refused $(bad) malformed requests"; COUNT_OK=0; }

# --- report ------------------------------------------------------------
if [ "$LARGE_ONLY" != 1 ]; then
echo
echo "lmtp-webhook benchmark: $(nproc) cores, $SESSIONS sessions, $N messages of $LENGTH body bytes, median of $ROUNDS"
echo
printf '%-22s %8s %8s %13s %10s %12s  %s\n' run seconds "msgs/s" "deliveries/s" "x sink" "CPU ms/msg" "end of DATA to reply (last round)"
for r in 1 5; do
  for side in sink floor bridge; do
    t=$(echo "${TIMES[$side$r]}" | median)
    case $side in
    sink) name="smtp-sink -L" x=1 c="" l="" ;;
    floor) name="floor" x=$(med "floorsink$r") c="" l="" ;;
    bridge) name="bridge" x=$(med "sink$r") c=$(echo "${CPUS[$r]}" | median) l=${LAT[$r]} ;;
    esac
    printf '%-22s %8s %8s %13s %10s %12s  %s\n' "$name, $r rcpt" "$t" "$(rate "$N" "$t")" "$(rate $((N * r)) "$t")" "$x" "$c" "$l"
  done
done
echo "receiver CPU per message while the bridge ran: $(echo "${RCPUS[1]}" | median) ms (1 rcpt), $(echo "${RCPUS[5]}" | median) ms (5 rcpt)"
echo
echo "bridge 1 rcpt / sink 1 rcpt:    $(med sink1)  (target <= 3)"
echo "bridge / floor:                 1 rcpt $(med floor1), 5 rcpt $(med floor5)  (target <= 1.25)"
echo "bridge 5 rcpt / bridge 1 rcpt:  $(med fivebridge)  (target <= 1.67)"
echo "floor 5 rcpt / floor 1 rcpt:    $(med fivefloor)  (raw bytes POSTed per recipient, nothing else)"
echo "sink 5 rcpt / sink 1 rcpt:      $(med fivesink)"
echo "wall time per extra recipient:  sink $(med extrasink) us, floor $(med extrafloor) us, bridge $(med extrabridge) us" \
  "= $(ratio "$(med extrabridge)" "$(med extrafloor)") x the floor's"
echo
echo "with a pipelining client (bench/pipeload, as Postfix's lmtp client):"
echo "  5 rcpt / 1 rcpt:                sink $(med pfivesink), floor $(med pfivefloor), bridge $(med pfivebridge)  (target <= 1.67)"
echo "  wall time per extra recipient:  sink $(med pextrasink) us, floor $(med pextrafloor) us, bridge $(med pextrabridge) us" \
  "= $(ratio "$(med pextrabridge)" "$(med pextrafloor)") x the floor's"
echo "  1 rcpt, bridge / sink:          $(med psink1)"
echo "  bridge / floor:                 1 rcpt $(med pfloor1), 5 rcpt $(med pfloor5)  (target <= 1.25)"
echo "(all ratios: medians of the ratios within each round)"
echo
mb() { awk -v b="$1" 'BEGIN { printf "%.2f", b / 1e6 }'; }
echo "real-mail mix: $MIXN messages per run ($MIX from $MANIFEST, each $((MIXN / MIX)) times), $(mb "$MBYTES") MB, median of $ROUNDS"
printf '%-18s %8s %8s %8s %12s %12s %10s\n' run seconds "msgs/s" "MB/s" "CPU ms/msg" "CPU ms/MB" "x floor"
for r in 1 3; do
  for side in floor bridge; do
    t=$(echo "${MT[$side$r]}" | median) c=$(echo "${MC[$side$r]}" | median)
    x=""
    [ "$side" = bridge ] && x=$(echo "${MX[$r]}" | median)
    printf '%-18s %8s %8s %8s %12s %12s %10s\n' "$side, $r rcpt" "$t" "$(rate "$MIXN" "$t")" \
      "$(awk -v b="$MBYTES" -v t="$t" 'BEGIN { printf "%.1f", b / 1e6 / t }')" \
      "$(awk -v c="$c" -v n="$MIXN" 'BEGIN { printf "%.3f", c * 1000 / n }')" \
      "$(awk -v c="$c" -v b="$MBYTES" 'BEGIN { printf "%.1f", c * 1000 / (b / 1e6) }')" "$x"
  done
done
echo "bridge / floor, real mail, 1 rcpt: $(echo "${MX[1]}" | median)  (target <= 4, goal 3)"
echo "bridge / floor, real mail, 3 rcpt: $(echo "${MX[3]}" | median)"
[ "${PROFILE:-}" = 1 ] && echo "CPU profile of the bridge under the mix: $OUT/mix.pprof (allocations: $OUT/mix.heap.pprof)"
echo
fi
for f in "$OUT/large-inline.txt" "$OUT/large-storage.txt"; do
  [ "$f" = "$OUT/large-storage.txt" ] && [ "$STORAGE" != 1 ] && continue
  cat "$f"
done
echo
verdict() { if [ "$1" = 1 ]; then echo "ok"; else echo "FAILED"; fi; }
echo "deliveries: $(verdict "$COUNT_OK") (every one counted by the receiver, none malformed)"
echo "growth:     $(verdict "$GROWTH_OK") (goroutines, fds and memory after the load)"
# The ratios depend on the machine; only correctness fails the run.
[ "$COUNT_OK" = 1 ] && [ "$GROWTH_OK" = 1 ]
