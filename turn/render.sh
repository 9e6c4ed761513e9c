#!/usr/bin/env bash
# Renders coturn's configuration for webcall from the secret file nginx uses
# (webcall_turn_secret_file), so nginx and coturn share one secret. Writes the
# configuration to stdout; the secret never goes anywhere else.
#
# Production (turn/turnserver.conf.template):
#   turn/render.sh --secret-file /etc/webcall/secret --realm call.example.org \
#       (--cert /etc/coturn/cert.pem --key /etc/coturn/key.pem | --no-tls) \
#       [--external-ip PUBLIC[/PRIVATE]] [--listen-ip IP] \
#       [--port 3478] [--tls-port 5349] [--relay-min 49152 --relay-max 65535] \
#       [--user-quota 12] [--total-quota 1200] \
#       [--max-bps 375000] [--bps-capacity 0]  > /etc/turnserver.conf
#
# Development, UNSAFE FOR PRODUCTION (turn/turnserver-dev.conf.template):
#   turn/render.sh --dev --secret-file run/secret --realm localhost \
#       --run-dir run [--port 3478] [--relay-min 49160 --relay-max 49200] \
#       [--tls-port T --cert C --key K]  > run/turnserver.conf
#
# Exit status 2, with one sentence on stderr, for a usage mistake: a missing
# or unreadable secret file, a secret shorter than 16 bytes or with bytes
# coturn cannot take (whitespace inside, control characters), a missing
# certificate or key in production (unless --no-tls: no turns: at all), a
# port out of range.
set -euo pipefail
shopt -u patsub_replacement 2>/dev/null || true
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)

die() {
    printf 'turn/render.sh: %s\n' "$*" >&2
    exit 2
}

secret_file="" realm="" cert="" key="" external_ip="" listen_ip="" public_ip=""
dev=0 no_tls=0 run_dir="" port=3478 tls_port="" relay_min="" relay_max=""
user_quota=12 total_quota=1200
# Bytes per second for one relayed stream (3 Mbit/s each way carries a good
# video call). No cap for the whole relay by default: coturn reserves
# max-bps for every allocation, and every caller's browser makes one per
# TURN URL even for a call that goes direct, so 100 Mbit/s filled up with
# about 5 calls' worth of unused allocations (turnserver.conf.template).
max_bps=375000 bps_capacity=0

need() {    # option value
    [ $# -ge 2 ] && [ -n "$2" ] || die "$1 needs a value."
}
while [ $# -gt 0 ]; do
    case $1 in
        --secret-file) need "$@"; secret_file=$2; shift 2 ;;
        --realm)       need "$@"; realm=$2; shift 2 ;;
        --cert)        need "$@"; cert=$2; shift 2 ;;
        --key)         need "$@"; key=$2; shift 2 ;;
        --external-ip) need "$@"; external_ip=$2; shift 2 ;;
        --listen-ip)   need "$@"; listen_ip=$2; shift 2 ;;
        --dev)         dev=1; shift ;;
        --no-tls)      no_tls=1; shift ;;
        --run-dir)     need "$@"; run_dir=$2; shift 2 ;;
        --port)        need "$@"; port=$2; shift 2 ;;
        --tls-port)    need "$@"; tls_port=$2; shift 2 ;;
        --relay-min)   need "$@"; relay_min=$2; shift 2 ;;
        --relay-max)   need "$@"; relay_max=$2; shift 2 ;;
        --user-quota)  need "$@"; user_quota=$2; shift 2 ;;
        --total-quota) need "$@"; total_quota=$2; shift 2 ;;
        --max-bps)     need "$@"; max_bps=$2; shift 2 ;;
        --bps-capacity) need "$@"; bps_capacity=$2; shift 2 ;;
        -h|--help)     sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
        *)             die "unknown option \"$1\" (see --help)." ;;
    esac
done

# --- the secret ----------------------------------------------------------------

[ -n "$secret_file" ] || die "--secret-file is required: the file nginx reads with webcall_turn_secret_file (e.g. /etc/webcall/secret)."
[ -f "$secret_file" ] || die "the secret file \"$secret_file\" does not exist; create it with: (umask 077; openssl rand -hex 32 > $secret_file)"
[ -r "$secret_file" ] || die "the secret file \"$secret_file\" is not readable by $(id -un)."
size=$(wc -c < "$secret_file")
[ "$size" -le 4096 ] || die "the secret file \"$secret_file\" has $size bytes; a secret is at most 4096 bytes (openssl rand -hex 32 makes a good one)."
nul=$(tr -cd '\000' < "$secret_file" | wc -c)
[ "$nul" -eq 0 ] || die "the secret in \"$secret_file\" contains NUL bytes, which coturn cannot take; use printable characters (openssl rand -hex 32)."
secret=$(< "$secret_file")
# Trailing whitespace is ignored, as nginx does.
while [[ $secret =~ [$' \t\r\n']$ ]]; do secret=${secret%?}; done
if [ ${#secret} -lt 16 ]; then
    die "the secret in \"$secret_file\" has ${#secret} bytes; it needs at least 16 (openssl rand -hex 32 makes a good one)."
fi
if ! [[ $secret =~ ^[!-~]+$ ]]; then
    die "the secret in \"$secret_file\" has whitespace or control characters inside, which coturn's configuration cannot hold; use printable characters without spaces (openssl rand -hex 32)."
fi

# --- everything else -------------------------------------------------------------

[ -n "$realm" ] || die "--realm is required: the site's host name, e.g. call.example.org."
[[ $realm =~ ^[A-Za-z0-9._-]+$ ]] || die "the realm \"$realm\" must be a host name (letters, digits, dots, dashes)."

is_port() { [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -ge 1 ] && [ "$1" -le 65535 ]; }
is_num()  { [[ $1 =~ ^[0-9]+$ ]]; }
is_ip()   { [[ $1 =~ ^[0-9A-Fa-f:.]+$ ]]; }

if [ "$dev" = 1 ]; then
    template=$here/turnserver-dev.conf.template
    [ -n "$run_dir" ] || die "--dev needs --run-dir: the folder for coturn's database, pid file and log."
    [ -d "$run_dir" ] || die "the run folder \"$run_dir\" does not exist."
    run_dir=$(cd "$run_dir" && pwd)
    relay_min=${relay_min:-49160}
    relay_max=${relay_max:-49200}
    if [ -n "$cert$key$tls_port" ]; then
        [ -n "$cert" ] && [ -n "$key" ] && [ -n "$tls_port" ] \
            || die "TLS in --dev needs all of --tls-port, --cert and --key."
    fi
    [ -z "$external_ip$listen_ip" ] || die "--external-ip and --listen-ip are for production; --dev listens on 127.0.0.1."
    [ "$no_tls" = 0 ] || die "--no-tls is for production; --dev has TLS only when given --tls-port, --cert and --key."
else
    template=$here/turnserver.conf.template
    [ -z "$run_dir" ] || die "--run-dir is for --dev only."
    if [ "$no_tls" = 1 ]; then
        [ -z "$cert$key$tls_port" ] || die "--no-tls leaves out TURN over TLS: drop --cert, --key and --tls-port."
    else
        [ -n "$cert" ] || die "--cert is required in production: the server's certificate (full chain, PEM) for TURN over TLS (or --no-tls, for networks that let UDP or TCP 3478 through only)."
        [ -n "$key" ] || die "--key is required in production: the private key of --cert (PEM)."
        tls_port=${tls_port:-5349}
    fi
    relay_min=${relay_min:-49152}
    relay_max=${relay_max:-65535}
    if [ -n "$external_ip" ]; then
        [[ $external_ip =~ ^[0-9A-Fa-f:.]+(/[0-9A-Fa-f:.]+)?$ ]] \
            || die "--external-ip \"$external_ip\" must be an IP address, or PUBLIC/PRIVATE."
        public_ip=${external_ip%%/*}
        # PUBLIC/PRIVATE: listen on the private address the public one maps to
        if [[ $external_ip == */* ]] && [ -z "$listen_ip" ]; then
            listen_ip=${external_ip#*/}
        fi
    fi
    if [ -n "$listen_ip" ]; then
        is_ip "$listen_ip" || die "--listen-ip \"$listen_ip\" must be an IP address."
    fi
fi
if [ -n "$cert" ]; then
    [ -r "$cert" ] || die "the certificate \"$cert\" does not exist or is not readable."
    [ -r "$key" ] || die "the key \"$key\" does not exist or is not readable."
    cert=$(realpath "$cert")
    key=$(realpath "$key")
fi
for p in port tls_port relay_min relay_max; do
    v=${!p}
    [ -z "$v" ] || is_port "$v" || die "--${p//_/-} \"$v\" is not a port (1-65535)."
done
[ "$relay_min" -le "$relay_max" ] || die "--relay-min $relay_min is above --relay-max $relay_max."
[ -z "$tls_port" ] || [ "$tls_port" != "$port" ] || die "--tls-port must differ from --port."
is_num "$user_quota" || die "--user-quota must be a number."
is_num "$total_quota" || die "--total-quota must be a number."
is_num "$max_bps" || die "--max-bps must be a number of bytes per second (0: no limit)."
is_num "$bps_capacity" || die "--bps-capacity must be a number of bytes per second (0: no limit)."

# --- render --------------------------------------------------------------------

# Lines starting with @IF_X@ are kept (without the marker) when X holds.
flag() { if [ -n "$1" ]; then echo 1; else echo 0; fi; }
declare -A cond=(
    [TLS]=$(flag "$cert")
    [NO_TLS]=$(flag "$([ -z "$cert" ] && echo y)")
    [EXTERNAL_IP]=$(flag "$external_ip")
    [LISTEN_IP]=$(flag "$listen_ip")
)
declare -A val=(
    [SECRET]=$secret [REALM]=$realm [CERT]=$cert [PKEY]=$key
    [EXTERNAL_IP]=$external_ip [PUBLIC_IP]=$public_ip [LISTEN_IP]=$listen_ip [RUN_DIR]=$run_dir
    [PORT]=$port [TLS_PORT]=$tls_port [RELAY_MIN]=$relay_min
    [RELAY_MAX]=$relay_max [USER_QUOTA]=$user_quota [TOTAL_QUOTA]=$total_quota
    [MAX_BPS]=$max_bps [BPS_CAPACITY]=$bps_capacity
)

out=""
while IFS= read -r line || [ -n "$line" ]; do
    if [[ $line =~ ^@IF_([A-Z_]+)@(.*)$ ]]; then
        name=${BASH_REMATCH[1]}
        [ -n "${cond[$name]+x}" ] || die "unknown condition @IF_${name}@ in $template."
        [ "${cond[$name]}" = 1 ] || continue
        line=${BASH_REMATCH[2]}
    fi
    for name in "${!val[@]}"; do
        line=${line//@"$name"@/"${val[$name]}"}
    done
    if [[ $line =~ @[A-Z_]+@ ]]; then
        die "unfilled placeholder ${BASH_REMATCH[0]} in $template."
    fi
    out+=$line$'\n'
done < "$template"
printf '%s' "$out"
