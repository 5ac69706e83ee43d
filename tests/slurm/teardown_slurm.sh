#!/usr/bin/env bash
# tests/slurm/teardown_slurm.sh -- stop exactly the daemons that
# tests/slurm/setup_slurm.sh started (adapted from a reference single-node
# SLURM setup).
#
# Each daemon is found through the PID file it wrote under $SLURM_CI_RUN_DIR
# (the paths setup_slurm.sh configured), and is only signalled if
# /proc/PID/comm still names that daemon (no PID-reuse accidents, no
# pkill/killall).  Daemons that setup_slurm.sh found already running and
# merely reused (e.g. a MariaDB started by someone else) have no PID file
# there and are left alone.  Order: slurmd, slurmctld, slurmdbd, MariaDB,
# munged.  SIGTERM first, SIGKILL after 20 s.  Safe to run repeatedly.
#
# Settings (environment variables, all optional):
#   SLURM_CI_RUN_DIR=/run/slurm-ci   must match setup_slurm.sh (also
#   SLURM_CI_LOG_DIR, SLURM_CI_SPOOL_DIR for SLURM_CI_PURGE=1)
#   SLURM_CI_CANCEL_JOBS=1   1: `scancel` all jobs still in the cluster first,
#                            so no slurmstepd/job processes outlive slurmd.
#   SLURM_CI_PURGE=0         1: also delete the slurmctld state/slurmd spool
#                            ($SLURM_CI_SPOOL_DIR) and the logs.  Installed
#                            packages, /etc/slurm and the accounting DB stay.
set -uo pipefail

RUN_DIR=${SLURM_CI_RUN_DIR:-/run/slurm-ci}
LOG_DIR=${SLURM_CI_LOG_DIR:-/var/log/slurm-ci}
SPOOL_DIR=${SLURM_CI_SPOOL_DIR:-/var/spool/slurm-ci}
CANCEL_JOBS=${SLURM_CI_CANCEL_JOBS:-1}
PURGE=${SLURM_CI_PURGE:-0}

T0=${EPOCHREALTIME/[.,]/}
elapsed() { local ds=$(( (${EPOCHREALTIME/[.,]/} - T0) / 100000 )); printf '%d.%d' $((ds / 10)) $((ds % 10)); }
log() { echo "[teardown_slurm $(elapsed)s] $*"; }

# alive PID: process exists and is not a zombie (PID 1 here reaps orphans
# only every few seconds, and `kill -0` succeeds on a zombie).
alive() {
    local st
    st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
    [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# stop PIDFILE COMM
stop() {
    local pidfile=$1 comm=$2 pid i t0
    if [ ! -s "$pidfile" ]; then
        log "$comm: no PID file ($pidfile), not started by setup_slurm.sh"
        return 0
    fi
    pid=$(tr -dc '0-9' < "$pidfile")
    if [ -z "$pid" ] || ! alive "$pid" || [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != "$comm" ]; then
        log "$comm: PID file is stale (pid '$pid' is not $comm); removing it"
        rm -f "$pidfile"
        return 0
    fi
    t0=$(date +%s%N)
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < 100; i++)); do
        alive "$pid" || break
        sleep 0.2
    done
    if alive "$pid"; then
        log "$comm (pid $pid) ignored SIGTERM for 20 s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null
        sleep 0.5
    fi
    rm -f "$pidfile"
    log "$comm (pid $pid) stopped in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
}

if [ "$CANCEL_JOBS" = 1 ] && [ -s "$RUN_DIR/slurmctld.pid" ] \
        && timeout 10 scontrol ping 2>/dev/null | grep -q 'is UP'; then
    # -a: also jobs in hidden partitions (the preempting partition is hidden).
    jobs=$(squeue -a -h -o '%i' 2>/dev/null | tr '\n' ' ')
    if [ -n "${jobs// /}" ]; then
        log "cancelling jobs: $jobs"
        # shellcheck disable=SC2086
        scancel $jobs 2>/dev/null
        for ((i = 0; i < 50; i++)); do
            [ -z "$(squeue -a -h -t running,completing -o '%i' 2>/dev/null)" ] && break
            sleep 0.2
        done
    fi
fi

stop "$RUN_DIR/slurmd.pid" slurmd
stop "$RUN_DIR/slurmctld.pid" slurmctld
stop "$RUN_DIR/slurmdbd/slurmdbd.pid" slurmdbd
stop "$RUN_DIR/mysql/mariadbd.pid" mariadbd
stop "$RUN_DIR/munge/munged.pid" munged

if [ "$PURGE" = 1 ]; then
    rm -rf "$SPOOL_DIR" "$LOG_DIR"
    log "removed $SPOOL_DIR and $LOG_DIR"
fi
log "done in $(elapsed) s"
exit 0
