// A process that keeps repainting one whole chunk of labels/annotations, alternating root and
// not root, printing "wrote N" after each write; annotate-server.test.ts kills it mid-write.
import { AnnotationStore } from '../../src/io/annotation-store.js';

const [path, n] = [process.argv[2]!, Number(process.argv[3])];
const store = await AnnotationStore.open(path);
const voxels: number[] = [];
for (let z = 0; z < n; z++) for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) voxels.push(z, y, x);
for (let i = 0; ; i++) {
  await store.apply([{ value: 1 + (i % 2), voxels }]);
  console.log(`wrote ${i + 1}`);
}
