/**
 * Folds a linear workgroup count into a grid that respects the per-dimension limit
 * (65,535 on most devices). Shaders rebuild the linear id as
 * `wid.x + (wid.y + wid.z * nwg.y) * nwg.x` and return when it is past their work.
 */
export function foldWorkgroups(count: number, maxPerDim: number): [number, number, number] {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`workgroup count ${count} is not a non-negative integer`);
  if (count <= maxPerDim) return [count, 1, 1];
  const y = Math.ceil(count / maxPerDim);
  if (y <= maxPerDim) return [Math.ceil(count / y), y, 1];
  const z = Math.ceil(y / maxPerDim);
  if (z > maxPerDim) throw new RangeError(`workgroup count ${count} exceeds ${maxPerDim}^3`);
  const yz = Math.ceil(count / (maxPerDim * z));
  return [maxPerDim, Math.min(maxPerDim, yz), z];
}
