"""A small vectorised ray caster: the head-worn camera's view of a textured 3-D scene.

The camera sits at the head position with the head orientation (x forward, y left, z up; see
:mod:`comodo.world.motion`), a pinhole of horizontal field of view ``fov_deg``. A :class:`Scene` is a
list of primitives in a clip-local world frame — planes (floor, ceiling, walls, a tilted stair
floor), axis-aligned boxes (furniture), vertical cylinders (other people) and spheres (hands, tools,
balls) — whose positions may change per frame (things that move on their own, which the IMU cannot
see). Every primitive carries a texture; shading is Lambert + ambient + distance fog. All frames of a
clip are rendered at once with NumPy (float32).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from comodo.errors import check
from comodo.world.motion import euler_to_matrix

Color = tuple[float, float, float]  # RGB in [0, 1]


@dataclass(frozen=True)
class Texture:
    """A periodic pattern of two colours on a surface's 2-D coordinates (m)."""

    a: Color
    b: Color
    pattern: str = "plain"  # plain | checker | stripes | planks | grain
    scale: float = 0.5  # pattern period (m)

    def shade(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """(N,) surface coordinates → (N, 3) colours."""
        if self.pattern == "checker":
            w = ((np.floor(u / self.scale) + np.floor(v / self.scale)) % 2).astype(np.float32)
        elif self.pattern == "stripes":
            w = (np.floor(u / self.scale) % 2).astype(np.float32)
        elif self.pattern == "planks":
            row = np.floor(v / (self.scale * 0.3))
            w = (np.floor(u / self.scale + 0.5 * row) % 2).astype(np.float32) * 0.6
            w += 0.4 * (np.abs(np.sin(37.0 * v)) > 0.9)
        elif self.pattern == "grain":
            w = 0.5 + 0.25 * np.sin(u * 9.1 / self.scale + 1.3 * np.sin(v * 3.7 / self.scale))
            w += 0.25 * np.sin(v * 7.3 / self.scale)
        else:
            w = np.zeros_like(u, dtype=np.float32)
        a, b = np.asarray(self.a, np.float32), np.asarray(self.b, np.float32)
        return a[None, :] * (1 - w[:, None]) + b[None, :] * w[:, None]


@dataclass
class Plane:
    """``normal · p = offset``; texture coordinates from two axes of the hit point."""

    normal: tuple[float, float, float]
    offset: float
    texture: Texture
    uv_axes: tuple[int, int] = (0, 1)


@dataclass
class Box:
    lo: tuple[float, float, float]
    hi: tuple[float, float, float]
    texture: Texture


@dataclass
class Cylinder:
    """A vertical cylinder (a person): ``centre`` (F, 2) per frame, from z0 to z1; skin above ``z_skin``."""

    centre: np.ndarray
    radius: float
    z0: float
    z1: float
    texture: Texture
    skin: Color = (0.85, 0.65, 0.5)
    z_skin: float = 1.45


@dataclass
class Sphere:
    """A sphere whose ``centre`` (F, 3) may move every frame (a hand, a ball, a tool)."""

    centre: np.ndarray
    radius: float
    texture: Texture


@dataclass
class Scene:
    planes: list[Plane] = field(default_factory=list)
    boxes: list[Box] = field(default_factory=list)
    cylinders: list[Cylinder] = field(default_factory=list)
    spheres: list[Sphere] = field(default_factory=list)
    sky_low: Color = (0.75, 0.8, 0.85)
    sky_high: Color = (0.35, 0.5, 0.8)
    skyline: Color | None = None  # silhouette colour of distant buildings/trees, if outdoors
    skyline_seed: int = 0
    fog: float = 0.04  # per metre
    fog_color: Color = (0.7, 0.72, 0.75)
    brightness: float = 1.0


def camera_rays(width: int, height: int, fov_deg: float) -> np.ndarray:
    """(H·W, 3) unit ray directions in the camera frame (x forward, y left, z up), row-major."""
    f = 0.5 * width / np.tan(np.deg2rad(fov_deg) / 2)
    u = np.arange(width) + 0.5 - width / 2
    v = np.arange(height) + 0.5 - height / 2
    uu, vv = np.meshgrid(u, v)
    d = np.stack([np.full_like(uu, f), -uu, -vv], axis=-1).reshape(-1, 3)
    return (d / np.linalg.norm(d, axis=1, keepdims=True)).astype(np.float32)


# Frames ray-cast at once: a chunk's (frames × rays) float32 arrays, a dozen of them alive at a time,
# stay in a core's cache (16 frames of 64×64 rays: 256 KiB each), where a whole clip's (150 frames:
# 2.4 MiB each) streamed through memory for every operation. Every pixel is computed by the same
# operations in the same order whatever the chunk (tested against whole-clip rendering).
CHUNK_FRAMES = 16


def render(scene: Scene, position: np.ndarray, euler: np.ndarray, width: int = 64, height: int = 64,
           fov_deg: float = 90.0) -> np.ndarray:
    """Render F frames, :data:`CHUNK_FRAMES` at a time.

    Args:
        scene: the primitives; moving ones hold one centre per frame.
        position: (F, 3) camera positions (m).
        euler: (F, 3) camera yaw, pitch, roll (rad).

    Returns:
        (F, H, W, 3) uint8 frames.
    """
    F = len(position)
    for prim in scene.cylinders + scene.spheres:
        check(len(prim.centre) in (1, F), f"render: a {type(prim).__name__.lower()} with {len(prim.centre)} "
                                           f"centres for {F} frames; expected 1 or {F}")
    rays = camera_rays(width, height, fov_deg)  # (N, 3)
    R = euler_to_matrix(euler).astype(np.float32)  # (F, 3, 3)
    o = position.astype(np.float32)[:, None, :]  # (F, 1, 3)
    out = np.empty((F, rays.shape[0], 3), dtype=np.uint8)
    for f0 in range(0, F, CHUNK_FRAMES):
        f1 = min(F, f0 + CHUNK_FRAMES)
        out[f0:f1] = _cast(_frames(scene, f0, f1), R[f0:f1], o[f0:f1], rays)
    return out.reshape(F, height, width, 3)


def _frames(scene: Scene, f0: int, f1: int) -> Scene:
    """``scene`` during frames ``f0 … f1 - 1``: moving primitives keep those frames' centres."""
    def at(centre: np.ndarray) -> np.ndarray:
        return centre[f0:f1] if len(centre) > 1 else centre  # (f, k) or a fixed (1, k)

    return replace(scene, cylinders=[replace(c, centre=at(c.centre)) for c in scene.cylinders],
                   spheres=[replace(s, centre=at(s.centre)) for s in scene.spheres])


def _cast(scene: Scene, R: np.ndarray, o: np.ndarray, rays: np.ndarray) -> np.ndarray:
    """Frames with rotations R (F, 3, 3) and positions o (F, 1, 3) → (F, N, 3) uint8 colours.

    Each primitive's distances are computed in the dtype NumPy's promotion gives its expression (float32,
    or float64 where the scene holds a NumPy float64 scalar: a wall's offset, a box corner, a radius), and
    the nearest distance so far is promoted as the first float64 one arrives, as ``np.where`` did in the
    whole-clip version: the same bits. Scratch arrays are reused, one per dtype.
    """
    F, N = len(R), rays.shape[0]
    # (F, N, 3) world directions. Written out element by element on purpose: BLAS/einsum results can
    # depend on memory alignment and threads, and the world promises the same bytes for the same seed.
    d = np.stack([R[:, None, i, 0] * rays[None, :, 0] + R[:, None, i, 1] * rays[None, :, 1]
                  + R[:, None, i, 2] * rays[None, :, 2] for i in range(3)], axis=-1)
    best = {"t": np.full((F, N), np.inf, dtype=np.float32), "id": np.full((F, N), -1, dtype=np.int16)}
    prims: list = []
    buffers: dict = {}
    hit = np.empty((F, N), bool)

    def scratch(dtype, i: int) -> np.ndarray:
        """The ``i``-th reusable (F, N) array of ``dtype``."""
        key = (np.dtype(dtype), i)
        if key not in buffers:
            buffers[key] = np.empty((F, N), dtype)
        return buffers[key]

    def take(t: np.ndarray, prim) -> None:
        """Rays where ``hit`` and ``t`` is nearer than anything so far now see ``prim``."""
        if np.result_type(t, best["t"]) != best["t"].dtype:  # the first float64 distances
            best["t"] = best["t"].astype(np.result_type(t, best["t"]))
        hit[...] &= t < best["t"]
        np.copyto(best["t"], t, where=hit)
        np.copyto(best["id"], np.int16(len(prims)), where=hit)
        prims.append(prim)

    dx, dy, dz = d[..., 0], d[..., 1], d[..., 2]  # (F, N) each: structure of arrays is faster
    ox, oy, oz = o[..., 0], o[..., 1], o[..., 2]  # (F, 1) each
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for pl in scene.planes:
            nx, ny, nz = pl.normal
            kind = np.result_type(dx, nx, ny, nz)
            if np.result_type(dx, nx) == kind:  # every partial sum already has the final dtype
                den = np.multiply(dx, nx, out=scratch(kind, 0))
                den += dy * ny
                den += dz * nz  # (F, N): d · n
            else:  # a float64 term after float32 ones: round the partial sum as the expression does
                den = dx * nx + dy * ny + dz * nz
            num = pl.offset - (ox * nx + oy * ny + oz * nz)  # (F, 1)
            t = np.divide(num, den, out=scratch(np.result_type(num, den), 1))
            np.greater(t, 1e-3, out=hit)
            take(t, pl)
        for bx in scene.boxes:
            kind = np.result_type(dx, *bx.lo, *bx.hi)
            tmin, tmax, w = (scratch(kind, i) for i in range(3))
            for axis, (oi, di) in enumerate(((ox, dx), (oy, dy), (oz, dz))):
                t1, t2 = (bx.lo[axis] - oi) / di, (bx.hi[axis] - oi) / di  # (F, N)
                if axis == 0:
                    np.minimum(t1, t2, out=tmin)
                    np.maximum(t1, t2, out=tmax)
                else:
                    np.maximum(tmin, np.minimum(t1, t2, out=w), out=tmin)
                    np.minimum(tmax, np.maximum(t1, t2, out=w), out=tmax)
            np.greater_equal(tmax, tmin, out=hit)
            hit &= tmin > 1e-3
            take(tmin, bx)
        a = dx * dx + dy * dy if scene.cylinders else None  # (F, N), the same for every cylinder
        for cy in scene.cylinders:
            cx, cyy = cy.centre[:, 0:1].astype(np.float32), cy.centre[:, 1:2].astype(np.float32)  # (F, 1)
            ocx, ocy = ox - cx, oy - cyy
            b = dx * ocx + dy * ocy  # (F, N)
            disc = b * b - a * (ocx * ocx + ocy * ocy - cy.radius**2)
            t = np.negative(b, out=scratch(disc.dtype, 0))
            t -= np.sqrt(disc)
            t /= a
            np.greater(disc, 0, out=hit)
            hit &= t > 1e-3
            z = oz + t * dz
            hit &= z > cy.z0
            hit &= z < cy.z1
            take(t, cy)
        for sp in scene.spheres:
            c = sp.centre.astype(np.float32)  # (F, 3) or (1, 3)
            ocx, ocy, ocz = ox - c[:, 0:1], oy - c[:, 1:2], oz - c[:, 2:3]  # (F, 1)
            b = dx * ocx + dy * ocy + dz * ocz  # (F, N)
            disc = b * b - (ocx * ocx + ocy * ocy + ocz * ocz - sp.radius**2)
            t = np.negative(b, out=scratch(disc.dtype, 0))
            t -= np.sqrt(disc)
            np.greater(disc, 0, out=hit)
            hit &= t > 1e-3
            take(t, sp)
        return _shade(scene, prims, o, d, best["t"], best["id"])


def _shade(scene: Scene, prims: list, o, d, t_best, id_best) -> np.ndarray:
    """Colour every ray by what it hit: (F, N) distances and primitive ids (-1: sky) → (F, N, 3) uint8.

    Rays are sorted by primitive once; each primitive shades a contiguous run of them, gathered with
    ``np.take`` (a copy, 3-4x faster than fancy indexing of rows), and the colours are put back in ray
    order at the end. Every ray's colour comes from the same operations on the same values as when each
    primitive gathered and scattered its rays by fancy indexing: the same frames
    (``benchmarks/bench_render.py --before a34952a`` compares them clip by clip).
    """
    F, N = t_best.shape
    d = d.reshape(F * N, 3)
    t_flat = t_best.reshape(-1)
    origin = o[:, 0]  # (F, 3)
    ids = (id_best.reshape(-1) + np.int16(1)).view(np.uint16)  # (F·N,) 0 = sky; 16 bits: NumPy's radix sort
    order = np.argsort(ids, kind="stable")  # (F·N,) rays by primitive, in ray order within each
    bounds = np.concatenate([[0], np.cumsum(np.bincount(ids, minlength=len(prims) + 1))])
    out = np.empty((F * N, 3), dtype=np.float32)  # in ``order``
    light = np.asarray([0.3, 0.2, 0.93], np.float32)
    for k in range(-1, len(prims)):
        lo, hi = bounds[k + 1], bounds[k + 2]
        if lo == hi:
            continue
        idx = order[lo:hi]
        dk = np.take(d, idx, axis=0)  # (n, 3)
        if k < 0:  # background: sky gradient and an optional skyline silhouette (no parallax)
            elev = dk[:, 2]
            w = np.clip(elev * 2.0, 0, 1)[:, None]
            col = np.asarray(scene.sky_low, np.float32) * (1 - w) + np.asarray(scene.sky_high, np.float32) * w
            if scene.skyline is not None:
                az = np.arctan2(dk[:, 1], dk[:, 0])
                r = np.random.default_rng(scene.skyline_seed)
                h = 0.12 + sum(0.05 * np.sin(kk * az + r.uniform(0, 6.3)) for kk in r.integers(3, 13, size=4))
                h += 0.04 * (np.sin(29 * az) > 0.3)  # windows / tree crowns
                col[elev < h] = scene.skyline
            out[lo:hi] = col
            continue
        prim = prims[k]
        tk = np.take(t_flat, idx)
        fk = idx // N  # (n,) frame of each ray
        pk = np.take(origin, fk, axis=0) + tk[:, None] * dk  # (n, 3) hit points
        if isinstance(prim, Plane):
            base = prim.texture.shade(pk[:, prim.uv_axes[0]], pk[:, prim.uv_axes[1]])
            nvec = np.asarray(prim.normal, np.float32)
            nk = -np.sign(_dot(dk, nvec))[:, None] * nvec[None, :]
        elif isinstance(prim, Box):
            # the face that was hit: the axis whose slab the point lies on; texture from the other two
            lo_, hi_ = np.asarray(prim.lo, np.float32), np.asarray(prim.hi, np.float32)
            ax = np.minimum(np.abs(pk - lo_), np.abs(pk - hi_)).argmin(-1)
            nk = np.zeros_like(pk)
            np.put_along_axis(nk, ax[:, None], -np.sign(np.take_along_axis(dk, ax[:, None], -1)), -1)
            u = np.where(ax == 0, pk[:, 1], pk[:, 0])
            v = np.where(ax == 2, pk[:, 1], pk[:, 2])
            base = prim.texture.shade(u, v)
        elif isinstance(prim, Cylinder):
            c = prim.centre.astype(np.float32)[fk]
            nk = np.concatenate([(pk[:, :2] - c) / prim.radius, np.zeros((len(pk), 1), np.float32)], -1)
            ang = np.arctan2(nk[:, 1], nk[:, 0])
            base = prim.texture.shade(ang * prim.radius, pk[:, 2])
            base[pk[:, 2] > prim.z_skin] = prim.skin
        else:  # Sphere
            c = prim.centre.astype(np.float32)
            nk = (pk - c[np.minimum(fk, len(c) - 1)]) / prim.radius
            base = prim.texture.shade(nk[:, 0] * prim.radius * 6, nk[:, 2] * prim.radius * 6)
        lam = 0.55 + 0.45 * np.clip(_dot(nk, light), 0, 1)
        fog = np.exp(-scene.fog * tk)[:, None]
        out[lo:hi] = (base * lam[:, None]) * fog + np.asarray(scene.fog_color, np.float32) * (1 - fog)
    out *= scene.brightness
    rgb = (np.clip(out, 0, 1) * 255 + 0.5).astype(np.uint8)  # (F·N, 3) in ``order``
    back = np.empty_like(order)
    back[order] = np.arange(len(order))  # the inverse permutation
    return np.take(rgb, back, axis=0).reshape(F, N, 3)


def _dot(v: np.ndarray, w: np.ndarray) -> np.ndarray:
    """(n, 3) · (3,) → (n,), element by element (bit-reproducible, unlike BLAS)."""
    return v[:, 0] * w[0] + v[:, 1] * w[1] + v[:, 2] * w[2]
