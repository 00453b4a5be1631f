"""Normalisation as in the reference: pixels / 255, minus the per-pixel mean, divided by the global std."""

import numpy as np

from datasets.errors import DatasetError

CHUNK_SIZE = 4096  # images per step, so that no float64 copy of a whole data set is ever made


def pixel_statistics(images, what):
    """The per-pixel mean (float64, shape of one image) and the global std of the centred images, both of
    pixels / 255."""
    count = images.shape[0]
    if count == 0:
        raise DatasetError(f"The {what} holds no images; point --data-dir to the complete official files.")
    total = np.zeros(images.shape[1:], dtype=np.float64)
    for start in range(0, count, CHUNK_SIZE):
        total += images[start : start + CHUNK_SIZE].sum(axis=0, dtype=np.float64)
    mean = total / (255.0 * count)
    squares = 0.0
    for start in range(0, count, CHUNK_SIZE):
        centred = images[start : start + CHUNK_SIZE].astype(np.float64) / 255.0 - mean
        flat = centred.reshape(-1)
        squares += float(np.dot(flat, flat))
    std = float(np.sqrt(squares / (count * mean.size)))
    if not np.isfinite(std) or std == 0.0:
        raise DatasetError(f"The {what} has no variation (all its images are identical), so it cannot be "
                           "normalised; point --data-dir to the complete official files.")
    return mean, std


def normalise(images, mean, std):
    """(images / 255 - mean) / std, computed in float64 a chunk at a time and returned as float32."""
    result = np.empty(images.shape, dtype=np.float32)
    for start in range(0, images.shape[0], CHUNK_SIZE):
        chunk = images[start : start + CHUNK_SIZE].astype(np.float64) / 255.0
        result[start : start + CHUNK_SIZE] = (chunk - mean) / std
    return result
