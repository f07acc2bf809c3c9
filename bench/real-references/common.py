"""Shared helpers for the real-scan references: where the scans are and how to read them."""
import glob
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def data_dir():
    """The shared data folder: $RHIZOCT_DATA, else ../shared/data beside the repository."""
    d = os.environ.get('RHIZOCT_DATA') or os.path.join(os.path.dirname(REPO), 'shared', 'data')
    if not os.path.isdir(d):
        # a worktree or clone elsewhere: the workspace's shared data
        alt = '/work/shared/data'
        if os.path.isdir(alt):
            return alt
    return d


def load_bean():
    """The bean scan as a (500, 500, 500) uint8 array, z = slice index."""
    import tifffile
    files = sorted(glob.glob(os.path.join(data_dir(), 'bean-bucket-xct', '*.tif')))
    if len(files) != 500:
        raise SystemExit(f'bean-bucket-xct: expected 500 slices in {data_dir()}, found {len(files)}')
    return np.stack([tifffile.imread(f) for f in files])


def load_maize():
    """The maize crown scan as a (471, 375, 375) uint8 array, z = slice index."""
    from PIL import Image
    files = sorted(glob.glob(os.path.join(data_dir(), 'maize-crown-ct', '*.png')))
    if len(files) != 471:
        raise SystemExit(f'maize-crown-ct: expected 471 slices in {data_dir()}, found {len(files)}')
    return np.stack([np.asarray(Image.open(f).convert('L')) for f in files])
