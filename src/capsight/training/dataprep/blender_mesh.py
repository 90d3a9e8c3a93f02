"""Mesh and material primitives for the Blender bottle renders (runs in Blender, see blender_bottles.py).

Why a module of its own: the bottle, its beer, labels, cap and the hand's fingers are all made of
the same two shapes, a profile turned around an axis and a tube bent along an arc, and the same
one-node material; keeping them apart from what is drawn keeps the bottle code about bottles.
Only ``bpy`` and the standard library are used.
"""

from __future__ import annotations

import math
from typing import Any

import bpy

SEGMENTS = 48


def lathe(
    name: str, profile: list[tuple[float, float]], close_top: bool, wobble: float = 0.0, crimps: int = 0
) -> Any:
    """A mesh turned around the z axis; ``crimps`` flutes the lowest ring (a crown cap's skirt)."""
    verts: list[tuple[float, float, float]] = []
    for ring, (z, r) in enumerate(profile):
        for k in range(SEGMENTS):
            a = 2 * math.pi * k / SEGMENTS
            rr = r
            if crimps and ring <= 1:
                rr = r * (1 + 0.07 * abs(math.sin(crimps * a / 2)))
            rr *= 1 + wobble * math.sin(3 * a)
            verts.append((rr * math.cos(a), rr * math.sin(a), z))
    faces: list[tuple[int, ...]] = []
    for ring in range(len(profile) - 1):
        for k in range(SEGMENTS):
            a, b = ring * SEGMENTS + k, ring * SEGMENTS + (k + 1) % SEGMENTS
            faces.append((a, b, b + SEGMENTS, a + SEGMENTS))
    verts.append((0.0, 0.0, profile[0][0]))
    bottom = len(verts) - 1
    faces += [(bottom, (k + 1) % SEGMENTS, k) for k in range(SEGMENTS)]
    if close_top:
        verts.append((0.0, 0.0, profile[-1][0]))
        top, base = len(verts) - 1, (len(profile) - 1) * SEGMENTS
        faces += [(top, base + k, base + (k + 1) % SEGMENTS) for k in range(SEGMENTS)]
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata(verts, [], faces)
    mesh.update()
    for poly in mesh.polygons:
        poly.use_smooth = True
    obj = bpy.data.objects.new(name, mesh)
    bpy.context.collection.objects.link(obj)
    return obj


def principled(name: str, **inputs: Any) -> Any:
    mat = bpy.data.materials.new(name)
    mat.use_nodes = True
    bsdf = mat.node_tree.nodes["Principled BSDF"]
    for key, value in inputs.items():
        bsdf.inputs[key].default_value = value
    return mat


def tube_arc(name: str, radius: float, thickness: float, start: float, sweep: float, z: float) -> Any:
    """A finger: a tube bent along part of a circle around the bottle, tapered to rounded ends."""
    steps, around = 16, 10
    verts, faces = [], []
    for i in range(steps + 1):
        t = i / steps
        a = start + sweep * t
        taper = math.sin(math.pi * min(t, 1 - t) * 2.2) if min(t, 1 - t) < 0.22 else 1.0
        r_tube = thickness * max(taper, 0.15)
        centre = (radius * math.cos(a), radius * math.sin(a), z)
        for k in range(around):
            b = 2 * math.pi * k / around
            out = r_tube * math.cos(b)
            verts.append(
                (centre[0] + out * math.cos(a), centre[1] + out * math.sin(a), z + r_tube * math.sin(b))
            )
    for i in range(steps):
        for k in range(around):
            a0, a1 = i * around + k, i * around + (k + 1) % around
            faces.append((a0, a1, a1 + around, a0 + around))
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata(verts, [], faces)
    for poly in mesh.polygons:
        poly.use_smooth = True
    obj = bpy.data.objects.new(name, mesh)
    bpy.context.collection.objects.link(obj)
    return obj


def assign(obj: Any, material: Any) -> None:
    obj.data.materials.append(material)
