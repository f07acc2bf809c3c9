import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, tempDir } from '../io/helpers.js';
import { HAS_LXML, validateRsml } from '../analysis/rsml-schema.js';

describe('synthetic RSML', () => {
  it.skipIf(!HAS_LXML)(
    `the bundled sample's roots.rsml validates against the RSML structure${HAS_LXML ? '' : ' [SKIPPED: /usr/bin/python3 lacks lxml]'}`,
    async () => {
      const text = readFileSync(join(REPO_ROOT, 'volumes', 'synthetic-sample.zarr', 'roots.rsml'), 'utf8');
      const t = await tempDir();
      expect(validateRsml(text, t.dir)).toBe('');
      await t.cleanup();
    },
  );
});
