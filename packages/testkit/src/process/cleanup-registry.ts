import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  findProcessesMentioning,
  isProcessAlive,
  readProcessStartTime,
  sendSignal,
  sleepSync,
} from './process-utilities.js';

/*
 * Everything a fixture starts or creates is recorded here so it is cleaned up even when a test forgets `dispose()`
 * or the test process is killed:
 *
 * - on a normal exit, an `exit` hook ends the processes by PID and removes the directories;
 * - on SIGTERM/SIGINT/SIGHUP (vitest stops its fork workers with SIGTERM and SIGKILLs them 500 ms later), the hook
 *   signals every process at once and leaves the slow part to the watchdog;
 * - a small detached `sh` watchdog, started with the first entry, waits for this process to disappear (even after
 *   SIGKILL) and then does the same from the entries file it shares with this process.
 *
 * Processes are matched by PID *and* kernel start time, so a recycled PID is never signalled.
 */

type Entry =
  | { kind: 'process'; pid: number; startTime: string; signal: NodeJS.Signals }
  | { kind: 'directory'; path: string }
  | { kind: 'mentions'; text: string };

const entries = new Map<number, Entry>();
let nextId = 1;
let entriesFile: string | undefined;
let watchdogPid: number | undefined;
let hooksInstalled = false;

const WATCHDOG_SCRIPT = String.raw`
parent=$1; file=$2
while kill -0 "$parent" 2>/dev/null; do sleep 1; done
[ -f "$file" ] || exit 0
alive() { [ -r "/proc/$1/stat" ] && [ "$(sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f1)" != Z ]; }
same() { alive "$1" && [ "$(sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f20)" = "$2" ]; }
pids=""
while read -r kind a b c; do
  case "$kind" in
    process) if same "$a" "$b"; then kill -CONT "$a" 2>/dev/null; kill -"$c" "$a" 2>/dev/null; pids="$pids $a"; fi ;;
    mentions)
      for f in /proc/[0-9]*/cmdline; do
        p=$(echo "$f" | cut -d/ -f3)
        [ "$p" = "$$" ] && continue
        if tr '\0' ' ' < "$f" 2>/dev/null | grep -qF -- "$a"; then kill -TERM "$p" 2>/dev/null; pids="$pids $p"; fi
      done ;;
  esac
done < "$file"
i=0
while [ $i -lt 20 ]; do
  left=""; for p in $pids; do alive "$p" && left="$left $p"; done
  [ -z "$left" ] && break
  sleep 0.25; i=$((i + 1))
done
for p in $pids; do alive "$p" && kill -KILL "$p" 2>/dev/null; done
while read -r kind a b c; do
  if [ "$kind" = directory ]; then
    awk '{print $2}' /proc/mounts | grep -F -- "$a/" | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
    rm -rf -- "$a"
  fi
done < "$file"
rm -f -- "$file"
`;

function persist(): void {
  if (entriesFile === undefined) {
    entriesFile = join(tmpdir(), `ops-testkit-cleanup-${process.pid}-${randomBytes(4).toString('hex')}`);
  }
  const lines: string[] = [];
  for (const entry of entries.values()) {
    if (entry.kind === 'process') lines.push(`process ${entry.pid} ${entry.startTime} ${entry.signal.slice(3)}`);
    else if (entry.kind === 'directory') lines.push(`directory ${entry.path}`);
    else lines.push(`mentions ${entry.text}`);
  }
  writeFileSync(entriesFile, lines.length === 0 ? '' : `${lines.join('\n')}\n`);
  if (watchdogPid === undefined && entries.size > 0) startWatchdog(entriesFile);
}

function startWatchdog(file: string): void {
  try {
    const watchdog = spawn('/bin/sh', ['-c', WATCHDOG_SCRIPT, 'ops-testkit-watchdog', String(process.pid), file], {
      detached: true,
      stdio: 'ignore',
    });
    watchdog.on('error', () => {
      // Without /bin/sh the exit hook alone cleans up; nothing else to do.
    });
    watchdog.unref();
    watchdogPid = watchdog.pid;
  } catch {
    watchdogPid = -1;
  }
}

function add(entry: Entry): () => void {
  installHooks();
  const id = nextId;
  nextId += 1;
  entries.set(id, entry);
  persist();
  return () => {
    if (entries.delete(id)) persist();
  };
}

/**
 * Records a process this test process started; it is ended with `signal` (after `SIGCONT`) at exit unless the
 * returned function is called first. Returns a no-op remover if the process is already gone.
 */
export function trackProcess(pid: number, signal: NodeJS.Signals = 'SIGTERM'): () => void {
  const startTime = readProcessStartTime(pid);
  if (startTime === undefined) return () => undefined;
  return add({ kind: 'process', pid, startTime, signal });
}

/** Records a directory to remove (after unmounting anything mounted below it) at exit. */
export function trackDirectory(path: string): () => void {
  return add({ kind: 'directory', path });
}

/**
 * Records that every process whose command line contains `text` (a private per-run directory) is ours, to end at
 * exit — for helpers such as podman's `conmon` that a service spawns on our behalf.
 */
export function trackProcessesMentioning(text: string): () => void {
  return add({ kind: 'mentions', text });
}

/** Unmounts (lazily) every mount point below `path`, deepest first. */
export function unmountBelowSync(path: string): void {
  let mounts: string[];
  try {
    mounts = readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .map((line) => (line.split(' ')[1] ?? '').replaceAll('\\040', ' '))
      .filter((mountPoint) => mountPoint.startsWith(`${path}/`));
  } catch {
    return;
  }
  for (const mountPoint of mounts.sort().reverse()) {
    try {
      execFileSync('umount', ['-l', mountPoint], { stdio: 'ignore' });
    } catch {
      // Already unmounted or not permitted; rm reports what is left.
    }
  }
}

function cleanUpSync(budgetMs: number): void {
  const pids: number[] = [];
  for (const [id, entry] of entries) {
    if (entry.kind === 'process') {
      if (readProcessStartTime(entry.pid) === entry.startTime) {
        sendSignal(entry.pid, 'SIGCONT');
        sendSignal(entry.pid, entry.signal);
        pids.push(entry.pid);
      } else {
        entries.delete(id);
      }
    } else if (entry.kind === 'mentions') {
      for (const pid of findProcessesMentioning(entry.text)) {
        sendSignal(pid, 'SIGTERM');
        pids.push(pid);
      }
    }
  }
  if (budgetMs <= 0) return;
  const deadline = Date.now() + budgetMs;
  while (pids.some(isProcessAlive) && Date.now() < deadline) sleepSync(25);
  for (const pid of pids) if (isProcessAlive(pid)) sendSignal(pid, 'SIGKILL');
  for (const [id, entry] of entries) {
    if (entry.kind === 'directory') {
      unmountBelowSync(entry.path);
      try {
        rmSync(entry.path, { recursive: true, force: true });
      } catch {
        continue;
      }
    }
    entries.delete(id);
  }
  persist();
  if (entries.size === 0) {
    if (entriesFile !== undefined) rmSync(entriesFile, { force: true });
    if (watchdogPid !== undefined && watchdogPid > 0) sendSignal(watchdogPid, 'SIGKILL');
  }
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => {
    if (entries.size > 0) cleanUpSync(5_000);
    else if (watchdogPid !== undefined && watchdogPid > 0) {
      sendSignal(watchdogPid, 'SIGKILL');
      if (entriesFile !== undefined) rmSync(entriesFile, { force: true });
    }
  });
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      // Signal everything now; the watchdog finishes (waits, SIGKILLs, removes directories) once we are gone.
      cleanUpSync(0);
      process.off(signal, onSignal);
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}
