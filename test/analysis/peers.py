"""Peers for test/analysis: scikit-image and SciPy on raw uint8 masks.

Usage: peers.py OP IN OUT NZ NY NX
  skeleton   skimage Lee thinning (skeletonize method='lee' / skeletonize_3d)  -> uint8 0/1
  label26    scipy.ndimage.label, full 3x3x3 structure                          -> int32 labels
  label6     scipy.ndimage.label, default (face) structure                      -> int32 labels
  edt        scipy.ndimage.distance_transform_edt with sampling from env SAMPLING -> float32
"""
import os
import sys

import numpy as np

op, src, dst = sys.argv[1], sys.argv[2], sys.argv[3]
shape = tuple(int(v) for v in sys.argv[4:7])
mask = np.fromfile(src, dtype=np.uint8).reshape(shape)
if op == 'skeleton':
    from skimage import morphology
    try:
        sk = morphology.skeletonize(mask > 0, method='lee')
    except TypeError:
        sk = morphology.skeletonize_3d(mask > 0)
    (sk > 0).astype(np.uint8).tofile(dst)
elif op in ('label26', 'label6'):
    from scipy import ndimage
    structure = np.ones((3, 3, 3), dtype=bool) if op == 'label26' else None
    labels, _ = ndimage.label(mask > 0, structure=structure)
    labels.astype(np.int32).tofile(dst)
elif op == 'edt':
    from scipy import ndimage
    sampling = [float(v) for v in os.environ.get('SAMPLING', '1,1,1').split(',')]
    ndimage.distance_transform_edt(mask > 0, sampling=sampling).astype(np.float32).tofile(dst)
else:
    raise SystemExit(f'unknown op {op}')
