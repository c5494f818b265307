#!/usr/bin/env python3
"""fashion_eval.py - helpers behind docs/fashion-mnist.md (numpy only; not
used by the tests).

  fashion_eval.py real-grid OUT.png   the first 8 training images of each
      class, one row per class, laid out like `sgm sample --png` (2 px black
      padding, each pixel drawn 2 x 2)
  fashion_eval.py knn SAMPLES.npy     samples drawn with `--class rows`
      (N/10 consecutive samples per class): how many a 5-nearest-neighbour
      classifier (Euclidean, pixel space, the 60,000 training images) assigns
      to the class they were drawn for; baseline: the same classifier on the
      first N/10 test images of each class; pixel mean / std of both
"""
import gzip
import struct
import sys
import zlib

import numpy as np

D = '/usr/share/datasets/fashion-mnist/'


def images(f):
    return np.frombuffer(gzip.open(D + f).read()[16:], np.uint8).reshape(-1, 28, 28)


def labels(f):
    return np.frombuffer(gzip.open(D + f).read()[8:], np.uint8)


def write_png(path, a):
    h, w = a.shape
    raw = b''.join(b'\x00' + a[r].tobytes() for r in range(h))

    def chunk(t, d):
        return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
    with open(path, 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 0, 0, 0, 0)) +
                chunk(b'IDAT', zlib.compress(raw, 9)) + chunk(b'IEND', b''))


def real_grid(out, per=8, pad=2, sc=2):
    img, lab = images('train-images-idx3-ubyte.gz'), labels('train-labels-idx1-ubyte.gz')
    H = 28 * sc
    g = np.zeros((pad + 10 * (H + pad), pad + per * (H + pad)), np.uint8)
    for k in range(10):
        for j, i in enumerate(np.nonzero(lab == k)[0][:per]):
            y, x = pad + k * (H + pad), pad + j * (H + pad)
            g[y:y + H, x:x + H] = np.kron(img[i], np.ones((sc, sc), np.uint8))
    write_png(out, g)


def knn_eval(path, k=5):
    X = images('train-images-idx3-ubyte.gz').reshape(-1, 784).astype(np.float32) / 127.5 - 1
    Y = labels('train-labels-idx1-ubyte.gz')
    x2 = (X * X).sum(1)

    def predict(Q):
        idx = np.argpartition(x2[None, :] - 2 * Q @ X.T, k, axis=1)[:, :k]
        return np.array([np.bincount(r, minlength=10).argmax() for r in Y[idx]])
    S = np.load(path).reshape(-1, 784).astype(np.float32)
    n = S.shape[0]
    c = np.arange(n) * 10 // n
    p = predict(S)
    print('samples: %d/%d agree (%.0f%%); per class %s of %d' %
          ((p == c).sum(), n, 100 * (p == c).mean(), [int((p[c == j] == j).sum()) for j in range(10)], n // 10))
    T = images('t10k-images-idx3-ubyte.gz').reshape(-1, 784).astype(np.float32) / 127.5 - 1
    TY = labels('t10k-labels-idx1-ubyte.gz')
    o = np.concatenate([np.nonzero(TY == j)[0][:n // 10] for j in range(10)])
    pt, ct = predict(T[o]), TY[o]
    print('real test images: %d/%d (%.0f%%); per class %s' %
          ((pt == ct).sum(), len(o), 100 * (pt == ct).mean(), [int((pt[ct == j] == j).sum()) for j in range(10)]))
    print('pixels: samples mean %.3f std %.3f; data mean %.3f std %.3f' % (S.mean(), S.std(), X.mean(), X.std()))


if __name__ == '__main__':
    if len(sys.argv) == 3 and sys.argv[1] == 'real-grid':
        real_grid(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == 'knn':
        knn_eval(sys.argv[2])
    else:
        sys.exit(__doc__)
