#!/usr/bin/env python3
"""Derives the Winograd F(2, 5) minimal-filtering matrices used by assembly/winograd.ts.

Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks" (CVPR 2016, arXiv:1509.09308),
section 4: F(m, r) via Toom-Cook on alpha = m + r - 1 points. Here m = 2, r = 5, alpha = 6, points
0, 1, -1, 2, -2 and infinity. The linear convolution c = g * h (g: r taps, h: m values) is
  c = V^-1 [(Hg g) . (Hh h)]
where Hg, Hh evaluate a polynomial at the points (the row for infinity picks the leading
coefficient) and V is the alpha x alpha evaluation matrix of c. Correlation y = T_g^T d is the
transpose of h -> c (the transposition principle), so
  y = A^T [(G g) . (B^T d)],   A^T = Hh^T (2 x 6),  G = Hg (6 x 5),  B^T = V^-T (6 x 6),
and in 2D Y = A^T [(G g G^T) . (B^T d B)] A. Each row i of B^T is scaled to integers and G's row i
divided by the same factor (fractions live in G, applied once per filter).
Run: python3 tools/winograd_f2x2_5x5.py  (prints the matrices and checks them exactly).
"""
from fractions import Fraction as F
import itertools, random

m, r = 2, 5
alpha = m + r - 1
pts = [F(0), F(1), F(-1), F(2), F(-2)]  # plus infinity


def evalmat(ncols):
    rows = [[p ** j for j in range(ncols)] for p in pts]
    rows.append([F(0)] * (ncols - 1) + [F(1)])
    return rows


def inv(a):
    n = len(a)
    aug = [row[:] + [F(int(i == j)) for j in range(n)] for i, row in enumerate(a)]
    for c in range(n):
        p = next(i for i in range(c, n) if aug[i][c] != 0)
        aug[c], aug[p] = aug[p], aug[c]
        piv = aug[c][c]
        aug[c] = [v / piv for v in aug[c]]
        for i in range(n):
            if i != c and aug[i][c] != 0:
                f = aug[i][c]
                aug[i] = [x - f * y for x, y in zip(aug[i], aug[c])]
    return [row[n:] for row in aug]


def T(a):
    return [list(c) for c in zip(*a)]


def mm(a, b):
    return [[sum(x * y for x, y in zip(row, col)) for col in zip(*b)] for row in a]


def lcm(a, b):
    from math import gcd
    return a * b // gcd(a, b)


AT = T(evalmat(m))
G = evalmat(r)
BT = T(inv(evalmat(alpha)))
for i in range(alpha):  # integer B^T rows, factor moved into G
    s = 1
    for v in BT[i]:
        s = lcm(s, v.denominator)
    BT[i] = [v * s for v in BT[i]]
    G[i] = [v / s for v in G[i]]


def corr1(g, d):
    return [sum(g[j] * d[k + j] for j in range(r)) for k in range(m)]


random.seed(1)
for _ in range(20):  # exact 1D and 2D checks against direct correlation
    g = [F(random.randint(-9, 9)) for _ in range(r)]
    d = [F(random.randint(-9, 9)) for _ in range(alpha)]
    Gg = [sum(a * b for a, b in zip(row, g)) for row in G]
    Bd = [sum(a * b for a, b in zip(row, d)) for row in BT]
    y = [sum(a * u * v for a, u, v in zip(row, Gg, Bd)) for row in AT]
    assert y == corr1(g, d)
    g2 = [[F(random.randint(-9, 9)) for _ in range(r)] for _ in range(r)]
    d2 = [[F(random.randint(-9, 9)) for _ in range(alpha)] for _ in range(alpha)]
    U = mm(mm(G, g2), T(G))
    V = mm(mm(BT, d2), T(BT))
    Mx = [[U[i][j] * V[i][j] for j in range(alpha)] for i in range(alpha)]
    Y = mm(mm(AT, Mx), T(AT))
    want = [[sum(g2[a][b] * d2[i + a][j + b] for a in range(r) for b in range(r)) for j in range(m)] for i in range(m)]
    assert Y == want

for name, mat in (("B^T", BT), ("G", G), ("A^T", AT)):
    print(name)
    for row in mat:
        print("  [" + ", ".join(f"{str(v):>6}" for v in row) + "]")
print("exact checks passed")
