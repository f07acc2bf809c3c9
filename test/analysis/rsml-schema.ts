import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PYTHON, pythonHas, REPO_ROOT } from '../io/helpers.js';

export const RSML_XSD = join(REPO_ROOT, 'test', 'analysis', 'rsml.xsd');
export const HAS_LXML = pythonHas('lxml');

/** Validates RSML text with lxml against the RSML structure; returns the error log ('' when valid). */
export function validateRsml(text: string, dir: string): string {
  const f = join(dir, 'x.rsml');
  writeFileSync(f, text);
  const script = [
    'import sys',
    'from lxml import etree',
    'schema = etree.XMLSchema(etree.parse(sys.argv[1]))',
    'doc = etree.parse(sys.argv[2])',
    'print("" if schema.validate(doc) else str(schema.error_log))',
  ].join('\n');
  const r = spawnSync(PYTHON, ['-c', script, RSML_XSD, f], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout.trim();
}
