/** Workgroup count for `invocations` threads in groups of `wg`. */
export function groups(invocations: number, wg: number): number {
  return Math.ceil(invocations / wg);
}

export const WG = 64;
