import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJob } from '../../src/pipeline/job-process.js';

/**
 * The viewer's jobs run in a forked process: its errors come back as the job's error, a process
 * that ends without reporting (killed, out of memory) fails the job saying how it ended, and
 * nothing of a job runs in the server's own process.
 */
describe('job processes', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rhizoct-job-process-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const segmentRequest = (input: string) =>
    ({
      kind: 'segment',
      options: {
        input,
        output: join(dir, 'out.zarr'),
        model: 'models/default',
        threshold: 0.5,
        chunk: 64,
        tta: false,
        batch: 1,
        overwrite: true,
      },
    }) as const;

  it("reports the child's own error as the job's, and writes nothing", async () => {
    const missing = join(dir, 'no-such-scan.zarr');
    const job = startJob(segmentRequest(missing), {});
    expect(job.pid).toBeGreaterThan(0);
    expect(job.pid).not.toBe(process.pid);
    await expect(job.finished).rejects.toThrow(missing);
    expect(existsSync(join(dir, 'out.zarr'))).toBe(false);
  }, 60_000);

  it('fails a job whose process is killed, saying so', async () => {
    const job = startJob(segmentRequest(join(dir, 'no-such-scan.zarr')), {});
    job.kill();
    await expect(job.finished).rejects.toThrow(/the segment process ended \(SIGTERM\) before it finished/);
  }, 60_000);
});
