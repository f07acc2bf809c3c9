/**
 * scripts/slurm/segment.sbatch on a real SLURM: Debian's slurm-wlm and munge, one node, started
 * here in a temporary folder as foreground daemons (no systemd) and stopped at the end, even when
 * the test fails. The template is submitted as an array of 4 over a small synthetic scan with a
 * tiny model; one task is requeued (killed and run again) mid-run; the result must equal a
 * single-process run voxel for voxel, and the same array submitted again must find nothing to do.
 * Skips, saying exactly why, where the programs are missing or the daemons cannot start.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../../src/gpu/gpu.js';
import { encodeTiffSlice } from '../../src/io/tiff-write.js';
import { convertToOmeZarr } from '../../src/pipeline/convert.js';
import { SilentProgress } from '../../src/pipeline/progress.js';
import { segment } from '../../src/pipeline/segment.js';
import { ChunkGrid } from '../../src/volume/chunk-grid.js';
import type { Vec3 } from '../../src/volume/box.js';
import { testGpu } from '../helpers/gpu.js';
import { freshSeed, rng } from '../helpers/random.js';
import { REPO_ROOT, tempDir } from '../io/helpers.js';
import { fileTree, readSegmentation, treeDifferences, writeRandomScan, writeTinyModel } from './shard-fixtures.js';

const ROOT = REPO_ROOT;
const TEMPLATE = join(ROOT, 'scripts', 'slurm', 'segment.sbatch');
const CONVERT_TEMPLATE = join(ROOT, 'scripts', 'slurm', 'convert.sbatch');
const PROGRAMS = ['munged', 'slurmctld', 'slurmd', 'sbatch', 'squeue', 'scontrol', 'scancel', 'sinfo'];
const seed = freshSeed();
// 64 × 96 × 96 in chunks of 16: 144 chunks, 36 a shard, long enough to requeue one mid-run.
const shape: Vec3 = [64, 96, 96];
const SHARDS = 4;

let dir = '';
let cleanup: () => Promise<void> = async () => undefined;
let skipWhy: string | null = null;
const daemons: { name: string; proc: ChildProcess }[] = [];
let env: NodeJS.ProcessEnv = {};

function which(p: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${p}`], { encoding: 'utf8' });
  if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  for (const d of ['/usr/sbin', '/usr/bin', '/sbin']) if (existsSync(join(d, p))) return join(d, p);
  return null;
}

function run(cmd: string, args: string[]): { status: number | null; out: string; err: string } {
  const r = spawnSync(which(cmd) ?? cmd, args, { encoding: 'utf8', env, timeout: 30_000 });
  return { status: r.status, out: r.stdout ?? '', err: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, ms: number, probe: () => T | null | undefined | false | Promise<T | null>): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
    await sleep(100);
  }
}

function tail(file: string, n = 15): string {
  return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').slice(-n).join('\n') : `(no ${file})`;
}

function startDaemon(name: string, args: string[], log: string): ChildProcess {
  const proc = spawn(which(name)!, args, { env, stdio: ['ignore', 'ignore', 'ignore'], cwd: dir });
  proc.on('error', () => undefined);
  daemons.push({ name, proc });
  void log;
  return proc;
}

/** Ids of the processes (other than this one) for which `is` holds; one that is gone, or not ours to read, does not. */
function processesWhere(is: (pid: number) => boolean): number[] {
  const pids: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      if (is(Number(e))) pids.push(Number(e));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

/** Processes (other than the daemons) working in our temp folder: job scripts and their children. */
const jobProcesses = (): number[] =>
  processesWhere((pid) => Boolean(dir) && readlinkSync(`/proc/${pid}/cwd`).startsWith(dir) && !daemons.some((d) => d.proc.pid === pid));

/** The processes of one array task (its batch script and what it started), from their environment. */
const taskProcesses = (jobId: string, task: number): number[] =>
  processesWhere((pid) => {
    if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'slurmstepd') return false;
    const vars = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    return vars.includes(`SLURM_ARRAY_JOB_ID=${jobId}`) && vars.includes(`SLURM_ARRAY_TASK_ID=${task}`);
  });

function signalAll(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

async function stopAll(): Promise<void> {
  if (daemons.length === 0) return;
  if (daemons.some((d) => d.name === 'slurmctld' && d.proc.exitCode === null)) {
    run('scancel', ['--partition', 'rhizoct']);
    const t0 = Date.now();
    while (Date.now() - t0 < 20_000 && run('squeue', ['-h']).out.trim()) await sleep(250);
  }
  for (const pid of jobProcesses()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  // slurmd first (it reports to slurmctld), then slurmctld, then munged.
  for (const name of ['slurmd', 'slurmctld', 'munged']) {
    for (const d of daemons.filter((x) => x.name === name && x.proc.exitCode === null && x.proc.signalCode === null)) {
      const exited = new Promise((r) => d.proc.once('exit', r));
      d.proc.kill('SIGTERM');
      await Promise.race([exited, sleep(10_000)]);
      if (d.proc.exitCode === null && d.proc.signalCode === null) {
        d.proc.kill('SIGKILL');
        await Promise.race([exited, sleep(5_000)]);
      }
    }
  }
  daemons.length = 0;
}

/** Starts munged, slurmctld and slurmd for one node in `dir`; returns why not, or null when they run. */
async function startSlurm(): Promise<string | null> {
  const missing = PROGRAMS.filter((p) => !which(p));
  if (missing.length) return `${missing.join(', ')} not found: install Debian's slurm-wlm and munge (scripts/setup.sh --test does)`;
  if (process.getuid?.() !== 0)
    return `slurmd must run as root to start jobs (this is uid ${process.getuid?.()}), so a one-node SLURM cannot be started here`;
  for (const d of ['state', 'spool', 'munge', 'log']) await mkdir(join(dir, d), { recursive: true });
  const key = join(dir, 'munge', 'munge.key');
  writeFileSync(key, randomBytes(1024));
  chmodSync(key, 0o400);
  chmodSync(join(dir, 'munge'), 0o700);
  const socket = join(dir, 'munge', 'munge.socket');
  startDaemon(
    'munged',
    [
      '--foreground',
      '--force',
      `--key-file=${key}`,
      `--socket=${socket}`,
      `--pid-file=${join(dir, 'munge', 'munged.pid')}`,
      `--seed-file=${join(dir, 'munge', 'seed')}`,
      `--log-file=${join(dir, 'log', 'munged.log')}`,
    ],
    '',
  );
  try {
    await until('munged to create its socket', 10_000, () => existsSync(socket) || daemons[0]!.proc.exitCode !== null);
  } catch {
    return `munged did not start: ${tail(join(dir, 'log', 'munged.log'), 5)}`;
  }
  if (daemons[0]!.proc.exitCode !== null)
    return `munged exited at once (${daemons[0]!.proc.exitCode}): ${tail(join(dir, 'log', 'munged.log'), 5)}`;

  const [ctldPort, dPort] = [await freePort(), await freePort()];
  const conf = join(dir, 'slurm.conf');
  const nodeCpus = Math.max(1, Math.min(2, cpus().length));
  writeFileSync(
    conf,
    [
      'ClusterName=rhizoct-test',
      'SlurmctldHost=localhost',
      `SlurmctldPort=${ctldPort}`,
      `SlurmdPort=${dPort}`,
      'SlurmUser=root',
      'SlurmdUser=root',
      'AuthType=auth/munge',
      'CredType=cred/munge',
      `AuthInfo=socket=${socket}`,
      `StateSaveLocation=${join(dir, 'state')}`,
      `SlurmdSpoolDir=${join(dir, 'spool')}`,
      `SlurmctldPidFile=${join(dir, 'slurmctld.pid')}`,
      `SlurmdPidFile=${join(dir, 'slurmd.pid')}`,
      `SlurmctldLogFile=${join(dir, 'log', 'slurmctld.log')}`,
      `SlurmdLogFile=${join(dir, 'log', 'slurmd.log')}`,
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_Core',
      'JobAcctGatherType=jobacct_gather/none',
      'AccountingStorageType=accounting_storage/none',
      'JobCompType=jobcomp/none',
      'MpiDefault=none',
      'SwitchType=switch/none',
      'ReturnToService=2',
      'SlurmdParameters=config_overrides',
      'MinJobAge=600',
      // Two stand-in GPUs, so the template's --gres=gpu:1 is scheduled as on a GPU cluster.
      'GresTypes=gpu',
      `NodeName=localhost CPUs=${nodeCpus} RealMemory=2000 Gres=gpu:2 State=UNKNOWN`,
      'PartitionName=rhizoct Nodes=localhost Default=YES MaxTime=INFINITE State=UP',
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'gres.conf'), 'NodeName=localhost Name=gpu File=/dev/null\nNodeName=localhost Name=gpu File=/dev/zero\n');
  env = { ...process.env, SLURM_CONF: conf };
  const ctld = startDaemon('slurmctld', ['-D', '-i', '-f', conf], '');
  await sleep(1000);
  if (ctld.exitCode !== null) return `slurmctld exited at once (${ctld.exitCode}): ${tail(join(dir, 'log', 'slurmctld.log'), 8)}`;
  const d = startDaemon('slurmd', ['-D', '-N', 'localhost', '-f', conf], '');
  try {
    await until('the node to be idle', 30_000, () => d.exitCode !== null || run('sinfo', ['-h', '-o', '%T']).out.trim() === 'idle');
  } catch {
    return `slurmd did not bring the node up: sinfo says "${run('sinfo', ['-h', '-o', '%T %E']).out.trim()}"; slurmd log: ${tail(join(dir, 'log', 'slurmd.log'), 8)}`;
  }
  if (d.exitCode !== null) return `slurmd exited at once (${d.exitCode}): ${tail(join(dir, 'log', 'slurmd.log'), 8)}`;
  return null;
}

/** Array task → its state and exit code, from scontrol (completed jobs stay listed for MinJobAge). */
function taskStates(jobId: string): Map<number, { state: string; exit: string; restarts: number }> {
  const out = new Map<number, { state: string; exit: string; restarts: number }>();
  for (const line of run('scontrol', ['show', 'job', '-o', jobId]).out.split('\n')) {
    const task = /ArrayTaskId=(\d+)/.exec(line);
    if (!task) continue;
    out.set(Number(task[1]), {
      state: /JobState=(\S+)/.exec(line)?.[1] ?? '?',
      exit: /ExitCode=(\S+)/.exec(line)?.[1] ?? '?',
      restarts: Number(/Restarts=(\d+)/.exec(line)?.[1] ?? 0),
    });
  }
  return out;
}

let gpu: Gpu;
let scan = '';
let model = '';

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('rhizoct-slurm-'));
  skipWhy = await startSlurm().catch((e: Error) => `starting the daemons failed: ${e.message}`);
  if (skipWhy) {
    await stopAll();
    return;
  }
  gpu = await testGpu();
  scan = join(dir, 'scan.zarr');
  model = join(dir, 'model');
  await writeRandomScan(scan, shape, seed);
  await writeTinyModel(gpu, model, seed);
}, 120_000);

afterAll(async () => {
  await stopAll();
  await cleanup();
}, 60_000);

describe(`scripts/slurm/segment.sbatch on a one-node SLURM (seed ${seed})`, () => {
  it('an array of 4 with one task requeued mid-run gives the single-process result; submitted again, every task exits 0 with nothing to do', async (ctx) => {
    if (skipWhy) {
      console.log(`[SKIPPED: ${skipWhy}]`);
      return ctx.skip();
    }
    const out = join(dir, 'seg.zarr');
    const tsx = join(ROOT, 'node_modules', '.bin', 'tsx');
    env = {
      ...env,
      SHARDS: String(SHARDS),
      SCAN: scan,
      OUT: out,
      MODEL: model,
      RHIZOCT: `${tsx} ${join(ROOT, 'src', 'cli', 'main.ts')}`,
      EXTRA: '--chunk 16 --batch 1',
    };
    // What a lab edits on the command line: the array size and resources for this small node.
    const submit = (): string => {
      const r = run('sbatch', [
        '--parsable',
        `--chdir=${dir}`,
        `--array=0-${SHARDS - 1}`,
        '--cpus-per-task=1',
        '--mem=900M',
        '--time=00:10:00',
        TEMPLATE,
      ]);
      expect(r.status, `sbatch: ${r.err}`).toBe(0);
      return r.out.trim().split(';')[0]!;
    };
    const jobId = submit();

    // Requeue the first task seen part-way through its chunks. It is frozen (SIGSTOP) first, so it
    // cannot write the rest of its chunks while the requeue is on its way; SLURM's SIGCONT, SIGTERM
    // and SIGKILL end it as they would a running task.
    const grid = new ChunkGrid(shape, [16, 16, 16]);
    const all = [...grid.chunksIn({ offset: [0, 0, 0], shape })];
    const mine = (i: number): string[] => all.filter((_, k) => k % SHARDS === i).map((c) => c.join('.'));
    const doneDir = join(`${out}.partial`, '.done');
    const doneOf = (i: number): number => {
      const done = new Set(readdirSync(doneDir));
      return mine(i).filter((c) => done.has(c)).length;
    };
    const frozen = (pids: number[]): boolean =>
      pids.every((pid) => {
        try {
          return /^\d+ \(.*\) [TtXZ]/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
        } catch {
          return true; // gone
        }
      });
    const victim = await until('a task part-way through its chunks', 90_000, async () => {
      if (!existsSync(doneDir)) return null;
      for (let i = 0; i < SHARDS; i++) {
        if (doneOf(i) < 2 || taskStates(jobId).get(i)?.state !== 'RUNNING') continue;
        const pids = taskProcesses(jobId, i);
        signalAll(pids, 'SIGSTOP');
        await until(`task ${i}'s processes to stop`, 5_000, () => frozen(pids));
        const n = doneOf(i);
        if (pids.length > 0 && n < mine(i).length && taskStates(jobId).get(i)?.state === 'RUNNING') return { task: i, doneAt: n };
        signalAll(pids, 'SIGCONT');
      }
      return null;
    });
    const rq = run('scontrol', ['requeue', `${jobId}_${victim.task}`]);
    expect(rq.status, `scontrol requeue: ${rq.err}`).toBe(0);
    // A requeued job waits a while before it may start again; let it start now.
    await until(`task ${victim.task} to be pending again`, 20_000, () => taskStates(jobId).get(victim.task)?.state === 'PENDING');
    expect(run('scontrol', ['update', `JobId=${jobId}_${victim.task}`, 'StartTime=now']).status).toBe(0);

    await until(
      'the array to finish',
      150_000,
      () => run('squeue', ['-h', '-j', jobId]).out.trim() === '' && taskStates(jobId).size === SHARDS,
    );
    const states = taskStates(jobId);
    for (let i = 0; i < SHARDS; i++) {
      const log = join(dir, `rhizoct-segment-${jobId}_${i}.log`);
      expect(states.get(i), `task ${i}: ${tail(log)}`).toMatchObject({ state: 'COMPLETED', exit: '0:0' });
    }
    expect(states.get(victim.task)!.restarts, 'the requeued task ran twice').toBe(1);
    const victimLog = readFileSync(join(dir, `rhizoct-segment-${jobId}_${victim.task}.log`), 'utf8');
    expect(victimLog).toMatch(/DUE TO JOB REQUEUE/);
    expect(victimLog.match(/^rhizoct segment shard \d+\/4: job .* restart \d/gm), victimLog).toHaveLength(2);
    const resumed = /(\d+) chunks written, (\d+) already done/.exec(victimLog.slice(victimLog.lastIndexOf('restart 1')));
    expect(resumed, victimLog).not.toBeNull();
    expect(Number(resumed![2]), 'the requeued task skipped the chunks it had written').toBeGreaterThanOrEqual(victim.doneAt);
    expect(Number(resumed![1]) + Number(resumed![2])).toBe(mine(victim.task).length);
    expect(existsSync(`${out}.partial`), 'finalised').toBe(false);

    const single = join(dir, 'single.zarr');
    await segment(
      {
        input: scan,
        output: single,
        model,
        threshold: 0.5,
        chunk: 16,
        tta: false,
        batch: 4,
        overwrite: false,
        progress: new SilentProgress(),
      },
      gpu,
    );
    const [a, b] = [await readSegmentation(out), await readSegmentation(single)];
    expect(Buffer.compare(Buffer.from(a.prob), Buffer.from(b.prob)), 'probabilities voxel for voxel').toBe(0);
    expect(Buffer.compare(Buffer.from(a.mask), Buffer.from(b.mask)), 'mask voxel for voxel').toBe(0);

    // The same array submitted twice (or every task requeued after the end): all exit 0.
    const again = submit();
    await until(
      'the second array to finish',
      90_000,
      () => run('squeue', ['-h', '-j', again]).out.trim() === '' && taskStates(again).size === SHARDS,
    );
    for (const [i, s] of taskStates(again)) {
      const log = readFileSync(join(dir, `rhizoct-segment-${again}_${i}.log`), 'utf8');
      expect(s, log).toMatchObject({ state: 'COMPLETED', exit: '0:0' });
      expect(log).toContain(`shard ${i}/4: nothing to do: ${out} is already complete, made by this same job`);
    }
  }, 300_000);
  it('convert.sbatch: a TIFF slice folder converted by an array of 3 equals the single-process pyramid byte for byte', async (ctx) => {
    if (skipWhy) {
      console.log(`[SKIPPED: ${skipWhy}]`);
      return ctx.skip();
    }
    const src = join(dir, 'tifs');
    await mkdir(src);
    const r = rng(seed + 3);
    const [nz, ny, nx] = [90, 70, 66];
    for (let z = 0; z < nz; z++) {
      const px = Uint16Array.from({ length: ny * nx }, () => Math.floor(1000 + 3000 * r() * r()));
      await writeFile(join(src, `s${String(z).padStart(3, '0')}.tif`), encodeTiffSlice(px, nx, ny));
    }
    const out = join(dir, 'converted.zarr');
    const tsx = join(ROOT, 'node_modules', '.bin', 'tsx');
    env = {
      ...env,
      SHARDS: '3',
      SCAN: src,
      OUT: out,
      RHIZOCT: `${tsx} ${join(ROOT, 'src', 'cli', 'main.ts')}`,
      EXTRA: '--chunk 16,32,32 --voxel-size 0.05 --unit mm',
    };
    const sub = run('sbatch', ['--parsable', `--chdir=${dir}`, '--array=0-2', '--cpus-per-task=1', '--mem=900M', CONVERT_TEMPLATE]);
    expect(sub.status, `sbatch: ${sub.err}`).toBe(0);
    const jobId = sub.out.trim().split(';')[0]!;
    await until(
      'the convert array to finish',
      120_000,
      () => run('squeue', ['-h', '-j', jobId]).out.trim() === '' && taskStates(jobId).size === 3,
    );
    const logs = [0, 1, 2].map((i) => readFileSync(join(dir, `rhizoct-convert-${jobId}_${i}.log`), 'utf8'));
    for (const [i, s] of taskStates(jobId)) expect(s, logs[i]).toMatchObject({ state: 'COMPLETED', exit: '0:0' });
    expect(
      logs.filter((l) => l.includes('this shard built the coarser levels and finished it')),
      logs.join('\n'),
    ).toHaveLength(1);
    const single = join(dir, 'converted-single.zarr');
    await convertToOmeZarr(src, single, { chunkShape: [16, 32, 32], voxelSize: [0.05, 0.05, 0.05], unit: 'millimeter' });
    expect(treeDifferences(fileTree(single), fileTree(out))).toEqual([]);
  }, 240_000);
});
