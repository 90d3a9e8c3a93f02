"""Render procedural glass beer bottles, capped or open, in front of real scene photos (runs in Blender).

Why it exists: the photo set has almost no full, capped glass beer bottles, so the model learned
"glass means opened". Rendering them is the one way to get many such bottles, with the cap, the neck
and the glass under control: every image varies the bottle shape, glass colour, fill level, label,
cap, pose, camera and light, and the background is a real photo seen *through* the glass.

This file is not imported by capsight: ``render.py`` runs it as
``blender -b --factory-startup --python blender_bottles.py -- JOB.json``. The job lists the outputs
(file name, label, seed, scene photo); each is drawn from its own seed, so any one image can be
rendered again alone. Only ``bpy`` and the standard library are used (Blender's Python has no numpy
guarantee).
"""

from __future__ import annotations

import json
import math
import random
import sys
from pathlib import Path
from typing import Any

import bpy

SEGMENTS = 48
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


def _lathe(
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


def _principled(name: str, **inputs: Any) -> Any:
    mat = bpy.data.materials.new(name)
    mat.use_nodes = True
    bsdf = mat.node_tree.nodes["Principled BSDF"]
    for key, value in inputs.items():
        bsdf.inputs[key].default_value = value
    return mat


def _glass(rng: random.Random) -> Any:
    colour = GLASS_COLOURS[rng.choices(list(GLASS_WEIGHTS), weights=list(GLASS_WEIGHTS.values()))[0]]
    return _principled(
        "glass",
        **{
            "Base Color": (*colour, 1.0),
            "Transmission": 1.0,
            "IOR": 1.5,
            "Roughness": rng.uniform(0.0, 0.08),
        },
    )


def _label_material(rng: random.Random) -> Any:
    """Paper with two random colours in waves, stripes or a checker: a stand-in for a printed label."""
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


def _tube_arc(name: str, radius: float, thickness: float, start: float, sweep: float, z: float) -> Any:
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


def _hand(rng: random.Random, body_r: float, body_top: float, facing: float) -> list[Any]:
    """Four fingers wrapped round the body towards the camera and a thumb: the bottle is held."""
    skin = _principled("skin", **{"Base Color": (*rng.choice(SKIN_TONES), 1.0), "Roughness": 0.55})
    finger = rng.uniform(0.0075, 0.0095)
    grip = rng.uniform(0.02, max(body_top - 4 * 2 * finger, 0.021))
    side = rng.choice([-1.0, 1.0])
    parts = []
    for n in range(4):
        sweep = rng.uniform(1.6, 2.3) * (0.85 if n == 3 else 1.0)
        start = facing - side * rng.uniform(1.3, 1.7)
        parts.append(
            _tube_arc(
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
        _tube_arc(
            "thumb",
            body_r + finger,
            finger * 1.1,
            facing + side * 1.6 - (1.2 if side < 0 else 0),
            1.2,
            min(thumb_z, body_top),
        )
    )
    for part in parts:
        _assign(part, skin)
    return parts


def _assign(obj: Any, material: Any) -> None:
    obj.data.materials.append(material)


def _build_bottle(rng: random.Random, label: str, facing: float) -> tuple[Any, float, float]:
    """The bottle (glass, beer, labels, cap) parented to one empty; returns (root, height, neck radius)."""
    root = bpy.data.objects.new("bottle", None)
    bpy.context.collection.objects.link(root)
    profile = _bottle_profile(rng)
    height, neck_r = profile[-1][0], profile[-1][1]
    glass = _lathe("glass", profile, close_top=False, wobble=rng.uniform(0, 0.004))
    solid = glass.modifiers.new("wall", "SOLIDIFY")
    solid.thickness = 0.0025
    _assign(glass, _glass(rng))
    parts = [glass]
    full = rng.random() < (0.85 if label == "closed" else 0.45)
    if full:  # beer up to the neck (a closed bottle) or any level (an open one being drunk)
        level = height - rng.uniform(0.03, 0.05) if label == "closed" else rng.uniform(0.05, height - 0.04)
        below = [(z, r) for z, r in profile if z < level]
        surface_r = next((r for z, r in profile if z >= level), below[-1][1])  # radius at the beer's surface
        inner = [(max(z, 0.003), r - 0.003) for z, r in below] + [(level, surface_r - 0.003)]
        beer = _lathe("beer", inner, close_top=True)
        _assign(
            beer,
            _principled(
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
        body_label = _lathe("label", ring, close_top=False)
        _assign(body_label, _label_material(rng))
        parts.append(body_label)
    if rng.random() < 0.35:  # neck label or foil
        z0 = height - rng.uniform(0.05, 0.07)
        neck = [(z, r + 0.0006) for z, r in profile if z0 <= z <= height - 0.02]
        if len(neck) >= 2:
            neck_label = _lathe("necklabel", neck, close_top=False)
            _assign(neck_label, _label_material(rng))
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
            cap = _lathe("cap", cap_profile, close_top=True, crimps=21)
        else:  # twist-off / screw cap: a taller plain cylinder
            cap_profile = [(height - 0.016, cap_r), (height + 0.001, cap_r), (height + 0.0015, cap_r * 0.9)]
            cap = _lathe("cap", cap_profile, close_top=True)
        _assign(
            cap,
            _principled(
                "cap",
                **{
                    "Base Color": cap_colour,
                    "Metallic": rng.uniform(0.5, 1.0),
                    "Roughness": rng.uniform(0.15, 0.45),
                },
            ),
        )
        parts.append(cap)
    if rng.random() < 0.5:
        parts += _hand(rng, body_r, profile[3][0], facing)
    for part in parts:
        part.parent = root
    return root, height, neck_r


def _scene_plane(photo: str, distance: float, half_w: float, half_h: float) -> Any:
    """The scene photo on an emitting plane behind the bottle: seen through the glass, and its light."""
    bpy.ops.mesh.primitive_plane_add(
        size=2.0, location=(0.0, distance, 0.0), rotation=(math.pi / 2, 0.0, 0.0)
    )
    plane = bpy.context.active_object
    plane.scale = (half_w, half_h, 1.0)
    mat = bpy.data.materials.new("scene")
    mat.use_nodes = True
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    nodes.remove(nodes["Principled BSDF"])
    emission = nodes.new("ShaderNodeEmission")
    image = nodes.new("ShaderNodeTexImage")
    image.image = bpy.data.images.load(photo)
    links.new(image.outputs["Color"], emission.inputs["Color"])
    links.new(emission.outputs["Emission"], nodes["Material Output"].inputs["Surface"])
    _assign(plane, mat)
    return plane, image.image


def _world(photo_image: Any, strength: float) -> None:
    """Light from the scene photo itself, wrapped around as an environment: glass reflects its colours."""
    world = bpy.data.worlds.new("world")
    bpy.context.scene.world = world
    world.use_nodes = True
    nodes, links = world.node_tree.nodes, world.node_tree.links
    env = nodes.new("ShaderNodeTexEnvironment")
    env.image = photo_image
    links.new(env.outputs["Color"], nodes["Background"].inputs["Color"])
    nodes["Background"].inputs["Strength"].default_value = strength


def _key_light(rng: random.Random, target: Any) -> None:
    """One soft area light from a random direction in front of the bottle: the highlights on the glass."""
    from mathutils import Vector

    light = bpy.data.lights.new("key", "AREA")
    light.size = rng.uniform(0.2, 1.2)
    light.energy = rng.uniform(20, 150)
    obj = bpy.data.objects.new("key", light)
    bpy.context.collection.objects.link(obj)
    azimuth, elevation = rng.uniform(-2.2, 2.2), rng.uniform(-0.2, 1.1)
    offset = Vector((math.sin(azimuth), -math.cos(azimuth), 0.0)) * math.cos(elevation)
    offset.z = math.sin(elevation)
    obj.location = target + offset * rng.uniform(0.6, 1.5)
    obj.rotation_euler = (target - obj.location).to_track_quat("-Z", "Y").to_euler()


def _render_settings(width: int, height: int, samples: int, threads: int) -> None:
    scene = bpy.context.scene
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = samples
    scene.cycles.use_denoising = False  # Debian's Blender has no OpenImageDenoise
    scene.cycles.use_adaptive_sampling = True
    scene.cycles.adaptive_threshold = 0.03
    scene.cycles.max_bounces = 12
    scene.cycles.transmission_bounces = 12
    scene.cycles.transparent_max_bounces = 8
    scene.cycles.glossy_bounces = 4
    scene.cycles.diffuse_bounces = 2
    scene.cycles.caustics_reflective = False
    scene.cycles.caustics_refractive = False
    scene.cycles.blur_glossy = 1.0
    scene.render.threads_mode = "FIXED"
    scene.render.threads = threads
    scene.render.resolution_x, scene.render.resolution_y = width, height
    scene.render.resolution_percentage = 100
    scene.view_settings.view_transform = "Standard"
    scene.render.image_settings.file_format = "JPEG"
    scene.render.image_settings.quality = 92


def render_one(item: dict[str, Any], out_dir: Path, samples: int, threads: int) -> None:
    """One image: a bottle labelled ``item['label']`` in front of ``item['scene']``, drawn from its seed."""
    from mathutils import Euler, Vector

    bpy.ops.wm.read_factory_settings(use_empty=True)
    rng = random.Random(item["seed"])
    portrait = rng.random() < 0.65
    width, height = (
        (int(item["size"] * 0.75), item["size"]) if portrait else (item["size"], int(item["size"] * 0.75))
    )
    _render_settings(width, height, samples, threads)
    tilt = Euler((rng.uniform(-0.55, 0.25), rng.uniform(-0.45, 0.45), rng.uniform(0, 2 * math.pi)), "YXZ")
    towards_camera = tilt.to_matrix().inverted() @ Vector((0.0, -1.0, 0.0))
    root, bottle_h, _ = _build_bottle(rng, item["label"], math.atan2(towards_camera.y, towards_camera.x))
    lens = rng.uniform(28, 60)
    camera = bpy.data.objects.new("camera", bpy.data.cameras.new("camera"))
    bpy.context.collection.objects.link(camera)
    camera.data.lens = lens
    camera.rotation_euler = (math.pi / 2, 0.0, 0.0)  # looks along +y, z up
    bpy.context.scene.camera = camera
    # Frame the whole bottle or only its upper part (a hand-held close-up shows the neck and the cap).
    low = 0.0 if rng.random() < 0.5 else bottle_h * rng.uniform(0.25, 0.6)
    span = bottle_h - low
    fill = rng.uniform(0.45, 0.95)
    frame_long = 36.0 / lens  # frame extent per metre of distance along the image's long side
    frame_v = frame_long if portrait else frame_long * 0.75
    distance = span / (fill * frame_v)
    root.rotation_euler = tilt
    centre = Vector((rng.uniform(-0.15, 0.15), 0.0, rng.uniform(-0.12, 0.12))) * span / fill
    pivot = tilt.to_matrix() @ Vector((0.0, 0.0, (low + bottle_h) / 2))
    root.location = Vector((centre.x, distance, centre.z)) - pivot
    back = distance + rng.uniform(0.3, 3.0)
    plane_w = back * frame_long / 2 * 1.15
    plane, photo = _scene_plane(item["scene"], back, plane_w, plane_w)
    aspect = photo.size[0] / max(photo.size[1], 1)
    plane.scale = (plane_w * max(aspect, 1.0), plane_w / min(aspect, 1.0), 1.0)
    _world(photo, rng.uniform(0.3, 1.0))
    _key_light(rng, Vector((centre.x, distance, centre.z)))
    if rng.random() < 0.4:
        camera.data.dof.use_dof = True
        camera.data.dof.focus_distance = distance
        camera.data.dof.aperture_fstop = rng.uniform(2.0, 8.0)
    bpy.context.scene.render.filepath = str(out_dir / item["name"])
    bpy.ops.render.render(write_still=True)


def main(argv: list[str]) -> None:
    job = json.loads(Path(argv[0]).read_text())
    out_dir = Path(job["out_dir"])
    out_dir.mkdir(parents=True, exist_ok=True)
    failed = 0
    for n, item in enumerate(job["items"], 1):
        if (out_dir / item["name"]).exists():
            continue  # a rerun of an interrupted job picks up where it stopped
        try:
            render_one(item, out_dir, job["samples"], job["threads"])
        except Exception as error:  # one bad scene photo must not cost the rest of the job
            failed += 1
            print(f"capsight-render-failed {item['name']}: {error}", flush=True)
            continue
        print(f"capsight-render {n}/{len(job['items'])} {item['name']}", flush=True)
    if failed:
        raise SystemExit(f"{failed} of {len(job['items'])} images failed")


if __name__ == "__main__":
    main(sys.argv[sys.argv.index("--") + 1 :] if "--" in sys.argv else [])
