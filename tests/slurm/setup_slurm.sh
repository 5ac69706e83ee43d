#!/usr/bin/env bash
# tests/slurm/setup_slurm.sh -- bring up a real single-node SLURM cluster on
# this machine for the project's real-SLURM tests (Snakemake's slurm executor
# plugin, submitit, preemption/requeue tests).  Adapted from a reference
# single-node SLURM setup (the project carries its own copy).
#
# Target: Debian 12 (bookworm), running as root, no systemd as PID 1, only
# Debian's apt repositories reachable.  Installs munge + slurmctld + slurmd +
# slurm-client (Slurm 22.05) and, for a working `sacct`, slurmdbd + MariaDB
# on 127.0.0.1.  Every daemon is started directly (no systemd/init.d); each
# one writes its PID file under $SLURM_CI_RUN_DIR, which teardown_slurm.sh
# uses to stop exactly those daemons again.
#
# Idempotent: packages already installed are not reinstalled, daemons that are
# already running (per our PID files) are left alone unless their generated
# config changed (then they are restarted), the database/user/cluster are
# created only if missing, and a drained/down node is resumed.  Running it
# twice in a row is a no-op apart from the final health check (~1-3 s).
#
# Ends when `sinfo` shows the node idle and (unless SLURM_CI_SMOKE=0) a
# trivial `srun` job has completed; prints "slurm up in N s".  Exit status is
# non-zero on any failure, with the tail of the relevant logs printed.
#
# Settings (environment variables, all optional):
#   SLURM_CI_ACCOUNTING=1    1: slurmdbd + MariaDB, sacct/sacctmgr work.
#                            0: accounting_storage/none (faster, ~200 MB less
#                               to install; sacct then fails, so snakemake
#                               needs slurm-status-command: squeue).
#   SLURM_CI_FAKE_GPUS=1     number of fake GPUs (gres/gpu) on the node; 0: none.
#   SLURM_CI_CLUSTER=ci      ClusterName
#   SLURM_CI_PARTITION=debug the default partition (where jobs go without -p)
#   SLURM_CI_PREEMPT_PARTITION=urgent
#                            a second, hidden partition on the same node with a
#                            higher PriorityTier: a job submitted there preempts
#                            (requeues) jobs of the default partition that hold
#                            the resources it needs (PreemptMode=REQUEUE).
#                            Empty: no such partition, no preemption.
#   SLURM_CI_KILL_WAIT=5     KillWait: seconds between SIGTERM and SIGKILL on
#                            timeout/scancel/preemption (Slurm default 30)
#   SLURM_CI_CRED_EXPIRE=10  AuthInfo=cred_expire: also how long a requeued
#                            job (scontrol requeue, preemption) stays PENDING
#                            (Reason=BeginTime) before it may start again
#                            (Slurm default 120)
#   SLURM_CI_MIN_JOB_AGE=300 MinJobAge: seconds a finished job stays in squeue
#   SLURM_CI_DEF_MEM_PER_CPU=512  MB per CPU for jobs without --mem (without
#                            it a job takes the whole node's memory)
#   SLURM_CI_CPUS=           CPUs to advertise; default: what `slurmd -C`
#                            detects.  A larger number oversubscribes the
#                            machine (SlurmdParameters=config_overrides) so
#                            more 1-CPU jobs run at once.
#   SLURM_CI_RUN_DIR=/run/slurm-ci        PID files
#   SLURM_CI_LOG_DIR=/var/log/slurm-ci    daemon logs
#   SLURM_CI_SPOOL_DIR=/var/spool/slurm-ci  slurmctld state, slurmd spool
#   SLURM_CI_DB_NAME=slurm_acct_db SLURM_CI_DB_USER=slurm SLURM_CI_DB_PASS=slurmci
#                            (MariaDB listens on 127.0.0.1 only)
#   SLURM_CI_WAIT=60         seconds to wait for each daemon to come up
#   SLURM_CI_SKIP_INSTALL=0  1: never call apt-get (fail if packages missing)
#   SLURM_CI_SMOKE=1         0: skip the final `srun true` job
#   SLURM_CI_CONF_SRC=<dir of this script>/conf   where the *.conf.in live
# Variables used only through ${!key} in render() and CHANGED_* set via eval:
# shellcheck disable=SC2034,SC2154
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CONF_SRC=${SLURM_CI_CONF_SRC:-$HERE/conf}
ACCOUNTING=${SLURM_CI_ACCOUNTING:-1}
FAKE_GPUS=${SLURM_CI_FAKE_GPUS:-1}
CLUSTER=${SLURM_CI_CLUSTER:-ci}
PARTITION=${SLURM_CI_PARTITION:-debug}
RUN_DIR=${SLURM_CI_RUN_DIR:-/run/slurm-ci}
LOG_DIR=${SLURM_CI_LOG_DIR:-/var/log/slurm-ci}
SPOOL_DIR=${SLURM_CI_SPOOL_DIR:-/var/spool/slurm-ci}
DB_NAME=${SLURM_CI_DB_NAME:-slurm_acct_db}
DB_USER=${SLURM_CI_DB_USER:-slurm}
DB_PASS=${SLURM_CI_DB_PASS:-slurmci}
PREEMPT_PARTITION=${SLURM_CI_PREEMPT_PARTITION-urgent}
KILL_WAIT=${SLURM_CI_KILL_WAIT:-5}
MIN_JOB_AGE=${SLURM_CI_MIN_JOB_AGE:-300}
CRED_EXPIRE=${SLURM_CI_CRED_EXPIRE:-10}
DEF_MEM_PER_CPU=${SLURM_CI_DEF_MEM_PER_CPU:-512}
CPUS_OVERRIDE=${SLURM_CI_CPUS:-}
WAIT=${SLURM_CI_WAIT:-60}
SKIP_INSTALL=${SLURM_CI_SKIP_INSTALL:-0}
SMOKE=${SLURM_CI_SMOKE:-1}
ETC=/etc/slurm

# Elapsed time from bash's own clock (no bc/awk needed): microseconds.
T0=${EPOCHREALTIME/[.,]/}
elapsed() { local ds=$(( (${EPOCHREALTIME/[.,]/} - T0) / 100000 )); printf '%d.%d' $((ds / 10)) $((ds % 10)); }
log() { printf '[setup_slurm %6ss] %s\n' "$(elapsed)" "$*"; }
die() {
    echo "[setup_slurm $(elapsed)s] ERROR: $*" >&2
    for f in "$LOG_DIR"/slurmctld.log "$LOG_DIR"/slurmd.log "$LOG_DIR"/slurmdbd.log "$LOG_DIR"/mariadb.err; do
        [ -s "$f" ] && { echo "---- tail $f" >&2; tail -n 15 "$f" >&2; }
    done
    exit 1
}
[ "$(id -u)" = 0 ] || die "must run as root"

# alive PID: process exists and is not a zombie.  (Here PID 1 is not an
# init that reaps promptly: a killed daemon stays <defunct> for a few seconds,
# and `kill -0` still succeeds on it.)
alive() {
    local st
    st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
    [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# pid_alive PIDFILE COMM: true if PIDFILE names a live process whose
# /proc/PID/comm is COMM (guards against stale files and PID reuse).
pid_alive() {
    local pid
    [ -s "$1" ] || return 1
    pid=$(tr -dc '0-9' < "$1")
    [ -n "$pid" ] && alive "$pid" && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ]
}

# wait_for DESC CMD...: retry CMD every 0.2 s for up to $WAIT seconds.
wait_for() {
    local desc=$1 i
    shift
    for ((i = 0; i < WAIT * 5; i++)); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.2
    done
    die "timed out after ${WAIT}s waiting for $desc"
}

# stop_ours PIDFILE COMM: stop a daemon we started earlier (used when its
# config changed).  Same logic as teardown_slurm.sh.
stop_ours() {
    local pid i
    pid_alive "$1" "$2" || return 0
    pid=$(tr -dc '0-9' < "$1")
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do alive "$pid" || break; sleep 0.2; done
    alive "$pid" && kill -KILL "$pid" 2>/dev/null || true
    rm -f "$1"
}

# ---------------------------------------------------------------- 1. install
PKGS=(munge slurmctld slurmd slurm-client)
[ "$ACCOUNTING" = 1 ] && PKGS+=(slurmdbd mariadb-server)
MISSING=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || MISSING+=("$p")
done
if [ ${#MISSING[@]} -gt 0 ]; then
    [ "$SKIP_INSTALL" = 1 ] && die "missing packages: ${MISSING[*]}"
    log "installing: ${MISSING[*]}"
    # Keep the packages' maintainer scripts from starting services through
    # invoke-rc.d (we start the daemons ourselves, with our own PID files).
    # Only add a policy-rc.d if none exists, and remove it again afterwards.
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    export DEBIAN_FRONTEND=noninteractive
    # Wait for (rather than fail on) an apt/dpkg run by someone else.
    apt-get -o DPkg::Lock::Timeout=300 update -qq
    apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends \
        "${MISSING[@]}" >/dev/null
    log "install done"
else
    log "packages already installed"
fi

# ------------------------------------------------------- 2. host and hardware
HOST=$(hostname -s)
# slurmctld/slurmd must resolve SlurmctldHost/NodeName.
if ! getent hosts "$HOST" >/dev/null; then
    echo "127.0.0.1 $HOST" >> /etc/hosts
    log "added '$HOST' to /etc/hosts"
fi
# `slurmd -C` prints the node line slurmd itself will report, e.g.
#   NodeName=vm CPUs=2 Boards=1 SocketsPerBoard=1 CoresPerSocket=2 ThreadsPerCore=1 RealMemory=24105
HW=$(/usr/sbin/slurmd -C | head -n 1)
hw() { echo "$HW" | grep -o "$1=[0-9]*" | cut -d= -f2; }
CPUS=$(hw CPUs); BOARDS=$(hw Boards); SOCKETS=$(hw SocketsPerBoard)
CORES=$(hw CoresPerSocket); THREADS=$(hw ThreadsPerCore)
# Configure a little less memory than detected: if the configured
# RealMemory is ever above what slurmd reports, the node goes INVAL/DRAIN.
MEMORY=$(( $(hw RealMemory) * 95 / 100 ))
SLURMD_PARAMS_LINE=""
if [ -n "$CPUS_OVERRIDE" ] && [ "$CPUS_OVERRIDE" != "$CPUS" ]; then
    # Advertise a different CPU count than the hardware has.  slurmd would
    # drain the node ("Low socket*core*thread count") unless told to trust
    # slurm.conf; describe the node as 1 socket x N cores x 1 thread.
    CPUS=$CPUS_OVERRIDE BOARDS=1 SOCKETS=1 CORES=$CPUS_OVERRIDE THREADS=1
    SLURMD_PARAMS_LINE="SlurmdParameters=config_overrides"
fi
log "node $HOST: CPUs=$CPUS RealMemory=${MEMORY}MB fake_gpus=$FAKE_GPUS accounting=$ACCOUNTING"

# ---------------------------------------------------------- 3. directories
mkdir -p "$RUN_DIR" "$LOG_DIR" "$SPOOL_DIR/ctld" "$SPOOL_DIR/d" "$ETC" /run/munge /run/mysqld
chown munge:munge /run/munge && chmod 755 /run/munge
mkdir -p "$RUN_DIR/munge" && chown munge:munge "$RUN_DIR/munge"
# slurmdbd drops to SlurmUser=slurm: its PID file dir and log must be its own
# (it also wants to chdir into a log dir it can write, else it logs
# "chdir(...): Permission denied").  The root daemons do not care.
mkdir -p "$RUN_DIR/slurmdbd" && chown slurm:slurm "$RUN_DIR/slurmdbd"
chown slurm:slurm "$LOG_DIR"
touch "$LOG_DIR/slurmdbd.log" && chown slurm:slurm "$LOG_DIR/slurmdbd.log"
if [ "$ACCOUNTING" = 1 ]; then
    chown mysql:mysql /run/mysqld
    mkdir -p "$RUN_DIR/mysql" && chown mysql:mysql "$RUN_DIR/mysql"
    touch "$LOG_DIR/mariadb.err" && chown mysql:mysql "$LOG_DIR/mariadb.err"
fi

# ---------------------------------------------------------- 4. config files
GRES_TYPES_LINE="" NODE_GRES="" GPU_FILES=""
if [ "$FAKE_GPUS" -gt 0 ]; then
    GRES_TYPES_LINE="GresTypes=gpu"
    NODE_GRES="Gres=gpu:$FAKE_GPUS"
    if [ "$FAKE_GPUS" = 1 ]; then
        GPU_FILES=/dev/null
    else
        # One device file per fake GPU.  slurmd rejects regular files ("is not
        # a valid character or block device") and takes the GPU index for
        # CUDA_VISIBLE_DEVICES from the trailing number, so make numbered
        # clones of /dev/null (char 1:3).
        for ((i = 0; i < FAKE_GPUS; i++)); do
            f="$SPOOL_DIR/fake-gpu$i"
            [ -c "$f" ] || { rm -f "$f"; mknod -m 666 "$f" c 1 3; }
        done
        GPU_FILES="$SPOOL_DIR/fake-gpu[0-$((FAKE_GPUS - 1))]"
    fi
fi
if [ "$ACCOUNTING" = 1 ]; then
    ACCOUNTING_LINES="AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=6819
AccountingStorageTRES=gres/gpu
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=30"
else
    ACCOUNTING_LINES="AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none"
fi

# Preemption: a hidden higher-tier partition on the same node whose jobs
# requeue jobs of the default partition (PreemptMode=REQUEUE).
PREEMPT_LINES="PreemptType=preempt/none" EXTRA_PARTITION=""
if [ -n "$PREEMPT_PARTITION" ]; then
    [ "$PREEMPT_PARTITION" != "$PARTITION" ] || die "SLURM_CI_PREEMPT_PARTITION must differ from SLURM_CI_PARTITION"
    PREEMPT_LINES="PreemptType=preempt/partition_prio
PreemptMode=REQUEUE"
    EXTRA_PARTITION="PartitionName=$PREEMPT_PARTITION Nodes=$HOST Default=NO MaxTime=INFINITE State=UP PriorityTier=10 Hidden=YES"
fi

# render TEMPLATE: replace every @KEY@ with the value of shell variable KEY.
render() {
    local line key
    while IFS= read -r line || [ -n "$line" ]; do
        for key in CLUSTER HOST CPUS BOARDS SOCKETS CORES THREADS MEMORY PARTITION \
                   RUN_DIR LOG_DIR SPOOL_DIR GRES_TYPES_LINE NODE_GRES GPU_FILES \
                   ACCOUNTING_LINES DB_NAME DB_USER DB_PASS PREEMPT_LINES \
                   EXTRA_PARTITION KILL_WAIT MIN_JOB_AGE DEF_MEM_PER_CPU \
                   SLURMD_PARAMS_LINE CRED_EXPIRE; do
            line=${line//@$key@/${!key}}
        done
        printf '%s\n' "$line"
    done < "$1"
}

# install_conf TEMPLATE DEST MODE OWNER: write DEST only if its content
# changes; back up a pre-existing file that we did not generate.  Sets
# CHANGED_<name>=1 when the file was (re)written.
install_conf() {
    local tmp name
    name=$(basename "$2" .conf)
    tmp=$(mktemp)
    render "$1" > "$tmp"
    if [ -e "$2" ] && cmp -s "$tmp" "$2"; then
        rm -f "$tmp"
        eval "CHANGED_$name=0"
        return
    fi
    if [ -e "$2" ] && ! grep -q 'generated by setup_slurm.sh' "$2"; then
        cp -p "$2" "$2.orig.$(date +%s)"
        log "backed up existing $2"
    fi
    install -m "$3" -o "${4%:*}" -g "${4#*:}" "$tmp" "$2"
    rm -f "$tmp"
    eval "CHANGED_$name=1"
    log "wrote $2"
}
install_conf "$CONF_SRC/slurm.conf.in" "$ETC/slurm.conf" 644 root:root
if [ "$FAKE_GPUS" -gt 0 ]; then
    install_conf "$CONF_SRC/gres.conf.in" "$ETC/gres.conf" 644 root:root
else
    CHANGED_gres=0
    if [ -e "$ETC/gres.conf" ]; then rm -f "$ETC/gres.conf"; CHANGED_gres=1; fi
fi
if [ "$ACCOUNTING" = 1 ]; then
    install_conf "$CONF_SRC/slurmdbd.conf.in" "$ETC/slurmdbd.conf" 600 slurm:slurm
else
    CHANGED_slurmdbd=0
fi
SLURM_CONF_CHANGED=$(( CHANGED_slurm + CHANGED_gres ))

# ---------------------------------------------------------------- 5. munge
# The munge package's postinst creates /etc/munge/munge.key; recreate it if
# someone removed it.
if [ ! -s /etc/munge/munge.key ]; then
    /usr/sbin/mungekey --create --keyfile=/etc/munge/munge.key
    chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
    log "created munge key"
fi
if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    log "munged already running"
else
    # (a stale socket left by a killed munged is removed by munged itself)
    rm -f "$RUN_DIR/munge/munged.pid"
    runuser -u munge -- /usr/sbin/munged --pid-file="$RUN_DIR/munge/munged.pid" \
        </dev/null >/dev/null 2>&1
    wait_for "munged" sh -c 'munge -n | unmunge'
    wait_for "munged PID file" pid_alive "$RUN_DIR/munge/munged.pid" munged
    log "munged started (pid $(cat "$RUN_DIR/munge/munged.pid"))"
fi

# ------------------------------------------------- 6. MariaDB + slurmdbd
if [ "$ACCOUNTING" = 1 ]; then
    if mariadb-admin ping >/dev/null 2>&1; then
        log "MariaDB already running"
    else
        # The mariadb-server postinst initialises /var/lib/mysql; do it here
        # if that did not happen.
        if [ ! -d /var/lib/mysql/mysql ]; then
            mariadb-install-db --user=mysql --datadir=/var/lib/mysql >/dev/null
        fi
        rm -f "$RUN_DIR/mysql/mariadbd.pid"
        nohup /usr/sbin/mariadbd --user=mysql --bind-address=127.0.0.1 \
            --pid-file="$RUN_DIR/mysql/mariadbd.pid" --log-error="$LOG_DIR/mariadb.err" \
            --innodb-lock-wait-timeout=900 </dev/null >/dev/null 2>&1 &
        wait_for "MariaDB" mariadb-admin ping
        wait_for "MariaDB PID file" pid_alive "$RUN_DIR/mysql/mariadbd.pid" mariadbd
        log "MariaDB started (pid $(cat "$RUN_DIR/mysql/mariadbd.pid"))"
    fi
    # root connects through the unix socket (unix_socket auth): no password.
    mariadb -u root <<EOF
CREATE DATABASE IF NOT EXISTS \`$DB_NAME\`;
CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASS';
CREATE USER IF NOT EXISTS '$DB_USER'@'127.0.0.1' IDENTIFIED BY '$DB_PASS';
GRANT ALL ON \`$DB_NAME\`.* TO '$DB_USER'@'localhost';
GRANT ALL ON \`$DB_NAME\`.* TO '$DB_USER'@'127.0.0.1';
FLUSH PRIVILEGES;
EOF

    DBD_PID="$RUN_DIR/slurmdbd/slurmdbd.pid"
    if pid_alive "$DBD_PID" slurmdbd && [ "$CHANGED_slurmdbd" = 1 ]; then
        log "slurmdbd.conf changed: restarting slurmdbd"
        stop_ours "$DBD_PID" slurmdbd
    fi
    if pid_alive "$DBD_PID" slurmdbd; then
        log "slurmdbd already running"
    else
        rm -f "$DBD_PID"   # a stale PID file would fool the checks below
        /usr/sbin/slurmdbd </dev/null >/dev/null 2>&1 || die "slurmdbd failed to start"
        wait_for "slurmdbd PID file" pid_alive "$DBD_PID" slurmdbd
        # On first start slurmdbd creates its tables (a few seconds).
        wait_for "slurmdbd" sacctmgr -n show cluster
        log "slurmdbd started (pid $(cat "$DBD_PID"))"
    fi
    # Register the cluster before slurmctld connects (slurmctld would also
    # add itself, but doing it here avoids racing that).
    if ! sacctmgr -n -P show cluster format=cluster | grep -qx "$CLUSTER"; then
        sacctmgr -i add cluster "$CLUSTER" >/dev/null
        log "registered cluster '$CLUSTER' in slurmdbd"
    fi
fi

# -------------------------------------------------------------- 7. slurmctld
CTLD_PID="$RUN_DIR/slurmctld.pid"
SLURMD_PID="$RUN_DIR/slurmd.pid"
if [ "$SLURM_CONF_CHANGED" -gt 0 ] && { pid_alive "$CTLD_PID" slurmctld || pid_alive "$SLURMD_PID" slurmd; }; then
    log "slurm.conf/gres.conf changed: restarting slurmctld and slurmd"
    stop_ours "$SLURMD_PID" slurmd
    stop_ours "$CTLD_PID" slurmctld
fi
if pid_alive "$CTLD_PID" slurmctld; then
    log "slurmctld already running"
else
    rm -f "$CTLD_PID"
    /usr/sbin/slurmctld </dev/null >/dev/null 2>&1 || die "slurmctld failed to start"
    wait_for "slurmctld PID file" pid_alive "$CTLD_PID" slurmctld
    wait_for "slurmctld" sh -c 'scontrol ping | grep -q "is UP"'
    log "slurmctld started (pid $(cat "$CTLD_PID"))"
fi

# ----------------------------------------------------------------- 8. slurmd
if pid_alive "$SLURMD_PID" slurmd; then
    log "slurmd already running"
else
    rm -f "$SLURMD_PID"
    SLURMD_LAUNCH=$(date +%s)
    /usr/sbin/slurmd </dev/null >/dev/null 2>&1 || die "slurmd failed to start"
    wait_for "slurmd PID file" pid_alive "$SLURMD_PID" slurmd
    # After a slurmctld restart the node's saved state ("idle") is shown
    # before slurmd has re-registered; wait for this slurmd's registration.
    slurmd_registered() {
        local t
        t=$(scontrol show node "$HOST" 2>/dev/null | grep -o 'SlurmdStartTime=[^ ]*' | cut -d= -f2)
        [ -n "$t" ] && [ "$t" != None ] && [ "$(date -d "$t" +%s)" -ge "$SLURMD_LAUNCH" ]
    }
    wait_for "slurmd to register with slurmctld" slurmd_registered
    log "slurmd started (pid $(cat "$SLURMD_PID"))"
fi

# Node state survives restarts in StateSaveLocation: a node drained by an
# earlier bad config (e.g. "gres/gpu count reported lower than configured")
# stays drained until resumed.
node_state() { sinfo -h -N -n "$HOST" -o '%T' 2>/dev/null | head -n 1; }
node_ready() { case "$(node_state)" in idle|mixed|allocated) return 0;; *) return 1;; esac; }
RESUMED=0
for ((i = 0; i < WAIT * 5; i++)); do
    node_ready && break
    st=$(node_state)
    # Give slurmd ~2 s to register before deciding the node needs a resume.
    if [ "$RESUMED" = 0 ] && [ "$i" -ge 10 ] && [[ "$st" =~ drain|down|inval|fail ]]; then
        log "node is '$st' ($(scontrol show node "$HOST" | grep -o 'Reason=.*')); resuming"
        scontrol update nodename="$HOST" state=resume || true
        RESUMED=1
    fi
    sleep 0.2
done
node_ready || die "node $HOST not idle: $(node_state) $(scontrol show node "$HOST" | grep -o 'Reason=.*')"
log "sinfo: $(sinfo -h -o '%P %a %D %T %N')"

# ------------------------------------------------------------ 9. smoke test
if [ "$SMOKE" = 1 ]; then
    timeout 60 srun -p "$PARTITION" -t 1 -N 1 -n 1 --mem=100 true \
        || die "smoke job (srun true) failed"
    log "smoke job (srun true) completed"
fi
log "cluster '$CLUSTER' ready: $(sinfo --version), partition=$PARTITION (default)${PREEMPT_PARTITION:+, preempting partition=$PREEMPT_PARTITION (hidden)}, accounting=$ACCOUNTING, fake_gpus=$FAKE_GPUS"
echo "slurm up in $(elapsed) s"
