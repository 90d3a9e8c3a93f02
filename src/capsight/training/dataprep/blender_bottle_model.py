"""One procedural glass beer bottle, capped or open, optionally held in a hand (runs in Blender).

Why it exists: the bottle is where the classes differ (a cap or an open lip, a full or a part-drunk
bottle), so everything about it is drawn from the image's seed here, apart from the scene and
camera in ``blender_bottles.py``. The random draws happen in a fixed order: changing that order
changes every render of a given seed. Only ``bpy`` and the standard library are used.
"""

from __future__ import annotations

import math
import random
from typing import Any

import bpy
from blender_mesh import assign, lathe, principled, tube_arc

GLASS_COLOURS = {
    "amber": (0.42, 0.17, 0.03),
    "dark-amber": (0.22, 0.08, 0.015),
    "green": (0.10, 0.38, 0.10),
    "emerald": (0.04, 0.22, 0.06),
    "clear": (0.92, 0.94, 0.92),
}
GLASS_WEIGHTS = {"amber": 5, "dark-amber": 3, "green": 3, "emerald": 1, "clear": 2}
CAP_COLOURS = [
    (0.80, 0.62, 0.25),
    (0.75, 0.75, 0.76),
    (0.60, 0.05, 0.04),
    (0.05, 0.12, 0.45),
    (0.04, 0.04, 0.04),
    (0.90, 0.88, 0.85),
    (0.08, 0.35, 0.10),
    (0.85, 0.45, 0.05),
    (0.35, 0.05, 0.30),
]


def _bottle_profile(rng: random.Random) -> list[tuple[float, float]]:
    """(height, radius) points of the outside of one bottle, bottom to lip, in metres."""
    kind = rng.choices(["longneck", "euro", "stubby", "steinie"], weights=[5, 3, 1, 1])[0]
    body_r = rng.uniform(0.028, 0.034)
    neck_r = rng.uniform(0.0115, 0.0135)
    body_h, shoulder_h, neck_h = {
        "longneck": (0.120, 0.055, 0.055),
        "euro": (0.140, 0.045, 0.040),
        "stubby": (0.085, 0.030, 0.025),
        "steinie": (0.100, 0.040, 0.030),
    }[kind]
    body_h *= rng.uniform(0.9, 1.1)
    shoulder_h *= rng.uniform(0.85, 1.15)
    neck_h *= rng.uniform(0.85, 1.2)
    points = [(0.0, body_r * 0.82), (0.004, body_r * 0.97), (0.010, body_r)]
    points.append((body_h, body_r))
    for i in range(1, 13):  # the shoulder: a smooth cosine step from body to neck radius
        t = i / 12
        points.append(
            (body_h + shoulder_h * t, neck_r + (body_r - neck_r) * (0.5 + 0.5 * math.cos(math.pi * t)))
        )
    top = body_h + shoulder_h + neck_h
    points.append((top - 0.014, neck_r * 0.98))
    bead_r = neck_r + rng.uniform(0.0012, 0.002)  # the crown finish: a bead ring under the lip
    points += [
        (top - 0.012, bead_r),
        (top - 0.008, bead_r),
        (top - 0.007, neck_r * 1.02),
        (top - 0.0015, neck_r * 1.05),
        (top, neck_r * 0.96),
    ]
    return points


def _glass(rng: random.Random) -> Any:
    colour = GLASS_COLOURS[rng.choices(list(GLASS_WEIGHTS), weights=list(GLASS_WEIGHTS.values()))[0]]
    return principled(
        "glass",
        **{
            "Base Color": (*colour, 1.0),
            "Transmission": 1.0,
            "IOR": 1.5,
            "Roughness": rng.uniform(0.0, 0.08),
        },
    )


def _printed(name: str, art: str, projection: str, **inputs: Any) -> Any:
    """A material whose colour is a printed image (``label_art.py``) mapped by ``projection``.

    The lathed meshes have no UV map; their generated coordinates span the part's bounding box, so
    a TUBE projection wraps a label once around the bottle and a FLAT one lays a print on a cap top.
    """
    mat = principled(name, **inputs)
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    coords = nodes.new("ShaderNodeTexCoord")
    image = nodes.new("ShaderNodeTexImage")
    image.image = bpy.data.images.load(art)
    image.projection = projection
    image.extension = "EXTEND"
    links.new(coords.outputs["Generated"], image.inputs["Vector"])
    links.new(image.outputs["Color"], nodes["Principled BSDF"].inputs["Base Color"])
    return mat


def _label_material(rng: random.Random, art: str | None = None) -> Any:
    """A printed label (``art``, three times in four) or paper with two random colours in a pattern."""
    if art and rng.random() < 0.75:
        return _printed("label", art, "TUBE", Roughness=rng.uniform(0.3, 0.8))
    mat = bpy.data.materials.new("label")
    mat.use_nodes = True
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    bsdf = nodes["Principled BSDF"]
    bsdf.inputs["Roughness"].default_value = rng.uniform(0.3, 0.8)
    texture = nodes.new(
        rng.choice(
            ["ShaderNodeTexWave", "ShaderNodeTexChecker", "ShaderNodeTexNoise", "ShaderNodeTexVoronoi"]
        )
    )
    if "Scale" in texture.inputs:
        texture.inputs["Scale"].default_value = rng.uniform(2, 25)
    ramp = nodes.new("ShaderNodeValToRGB")
    for element in ramp.color_ramp.elements:
        element.color = (rng.random(), rng.random(), rng.random(), 1.0)
    ramp.color_ramp.interpolation = rng.choice(["CONSTANT", "LINEAR"])
    output = texture.outputs["Fac"] if "Fac" in texture.outputs else texture.outputs[0]
    links.new(output, ramp.inputs["Fac"])
    links.new(ramp.outputs["Color"], bsdf.inputs["Base Color"])
    return mat


SKIN_TONES = [
    (0.80, 0.57, 0.45),
    (0.70, 0.46, 0.33),
    (0.55, 0.35, 0.24),
    (0.38, 0.23, 0.15),
    (0.24, 0.14, 0.09),
    (0.86, 0.66, 0.55),
]


def _hand(rng: random.Random, body_r: float, body_top: float, facing: float) -> list[Any]:
    """Four fingers wrapped round the body towards the camera and a thumb: the bottle is held."""
    skin = principled("skin", **{"Base Color": (*rng.choice(SKIN_TONES), 1.0), "Roughness": 0.55})
    finger = rng.uniform(0.0075, 0.0095)
    grip = rng.uniform(0.02, max(body_top - 4 * 2 * finger, 0.021))
    side = rng.choice([-1.0, 1.0])
    parts = []
    for n in range(4):
        sweep = rng.uniform(1.6, 2.3) * (0.85 if n == 3 else 1.0)
        start = facing - side * rng.uniform(1.3, 1.7)
        parts.append(
            tube_arc(
                "finger",
                body_r + finger * 0.9,
                finger * (0.88 if n == 3 else 1.0),
                start if side > 0 else start - sweep,
                sweep,
                grip + n * finger * 2.05,
            )
        )
    thumb_z = grip + 4 * finger * 2.05 + finger
    parts.append(
        tube_arc(
            "thumb",
            body_r + finger,
            finger * 1.1,
            facing + side * 1.6 - (1.2 if side < 0 else 0),
            1.2,
            min(thumb_z, body_top),
        )
    )
    for part in parts:
        assign(part, skin)
    return parts


def build_bottle(
    rng: random.Random, label: str, facing: float, art: dict[str, str] | None = None
) -> tuple[Any, float, float]:
    """The bottle (glass, beer, labels, cap) parented to one empty; returns (root, height, neck radius).

    ``art`` holds the paths of this image's printed label and cap (``label`` and ``cap`` keys).
    """
    art = art or {}
    root = bpy.data.objects.new("bottle", None)
    bpy.context.collection.objects.link(root)
    profile = _bottle_profile(rng)
    height, neck_r = profile[-1][0], profile[-1][1]
    glass = lathe("glass", profile, close_top=False, wobble=rng.uniform(0, 0.004))
    solid = glass.modifiers.new("wall", "SOLIDIFY")
    solid.thickness = 0.0025
    assign(glass, _glass(rng))
    parts = [glass]
    full = rng.random() < (0.85 if label == "closed" else 0.45)
    if full:  # beer up to the neck (a closed bottle) or any level (an open one being drunk)
        level = height - rng.uniform(0.03, 0.05) if label == "closed" else rng.uniform(0.05, height - 0.04)
        below = [(z, r) for z, r in profile if z < level]
        surface_r = next((r for z, r in profile if z >= level), below[-1][1])  # radius at the beer's surface
        inner = [(max(z, 0.003), r - 0.003) for z, r in below] + [(level, surface_r - 0.003)]
        beer = lathe("beer", inner, close_top=True)
        assign(
            beer,
            principled(
                "beer",
                **{
                    "Base Color": (0.95, rng.uniform(0.45, 0.7), 0.08, 1.0),
                    "Transmission": 1.0,
                    "IOR": 1.33,
                    "Roughness": 0.0,
                },
            ),
        )
        parts.append(beer)
    body_r = profile[3][1]
    if rng.random() < 0.85:  # body label
        bottom, top = rng.uniform(0.02, 0.05), rng.uniform(0.075, profile[3][0])
        ring = [(bottom, body_r + 0.0006), (top, body_r + 0.0006)]
        body_label = lathe("label", ring, close_top=False)
        assign(body_label, _label_material(rng, art.get("label")))
        parts.append(body_label)
    if rng.random() < 0.35:  # neck label or foil
        z0 = height - rng.uniform(0.05, 0.07)
        neck = [(z, r + 0.0006) for z, r in profile if z0 <= z <= height - 0.02]
        if len(neck) >= 2:
            neck_label = lathe("necklabel", neck, close_top=False)
            assign(neck_label, _label_material(rng))
            parts.append(neck_label)
    if label == "closed":
        cap_r = neck_r * 1.12 + 0.0015
        cap_colour = (*rng.choice(CAP_COLOURS), 1.0)
        if rng.random() < 0.8:  # crown cap: a fluted skirt under a flat top
            cap_profile = [
                (height - 0.007, cap_r * 1.08),
                (height - 0.0055, cap_r * 1.04),
                (height - 0.001, cap_r),
                (height + 0.0012, cap_r * 0.92),
                (height + 0.0015, 0.0),
            ]
            cap = lathe("cap", cap_profile, close_top=True, crimps=21)
        else:  # twist-off / screw cap: a taller plain cylinder
            cap_profile = [(height - 0.016, cap_r), (height + 0.001, cap_r), (height + 0.0015, cap_r * 0.9)]
            cap = lathe("cap", cap_profile, close_top=True)
        finish = {"Metallic": rng.uniform(0.5, 1.0), "Roughness": rng.uniform(0.15, 0.45)}
        if art.get("cap") and rng.random() < 0.6:  # a printed crown cap, as most beer caps are
            assign(cap, _printed("cap", art["cap"], "FLAT", **finish))
        else:
            assign(cap, principled("cap", **{"Base Color": cap_colour, **finish}))
        parts.append(cap)
    if rng.random() < 0.5:
        parts += _hand(rng, body_r, profile[3][0], facing)
    for part in parts:
        part.parent = root
    return root, height, neck_r
