/** Errors raised by the GPU layer, told apart by `kind` (see `isGpuError`). */
export type GpuErrorKind = 'no-webgpu' | 'no-adapter' | 'shader' | 'validation' | 'device-lost' | 'too-large' | 'double-release';

export class GpuError extends Error {
  readonly kind: GpuErrorKind;
  constructor(kind: GpuErrorKind, message: string) {
    super(message);
    this.name = 'GpuError';
    this.kind = kind;
  }
}

export function isGpuError(e: unknown, kind?: GpuErrorKind): e is GpuError {
  return e instanceof GpuError && (kind === undefined || e.kind === kind);
}

export const INSTALL_HINT =
  'On Debian 12 without a GPU driver install the software Vulkan driver from bookworm-backports: ' +
  'echo "deb http://deb.debian.org/debian bookworm-backports main" > /etc/apt/sources.list.d/backports.list && ' +
  'apt-get update && apt-get install -y -t bookworm-backports mesa-vulkan-drivers ' +
  '(scripts/setup.sh does this). With an NVIDIA or AMD GPU, install its Vulkan driver instead.';
