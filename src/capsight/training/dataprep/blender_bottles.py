"""Render procedural glass beer bottles, capped or open, in front of real scene photos (runs in Blender).

Why it exists: the photo set has almost no full, capped glass beer bottles, so the model learned
"glass means opened". Rendering them is the one way to get many such bottles, with the cap, the neck
and the glass under control: every image varies the bottle shape, glass colour, fill level, label,
cap, pose, camera and light, and the background is a real photo seen *through* the glass.

This file is not imported by capsight: ``render.py`` runs it as
``blender -b --factory-startup --python blender_bottles.py -- JOB.json``. The job lists the outputs
(file name, label, seed, scene photo); each is drawn from its own seed, so any one image can be
rendered again alone. Only ``bpy`` and the standard library are used (Blender's Python has no numpy
guarantee). The bottle itself is drawn by ``blender_bottle_model.py`` and ``blender_mesh.py`` beside
this file, imported as top-level modules because Blender runs this file as a plain script.
"""

from __future__ import annotations

import json
import math
import random
import sys
from pathlib import Path
from typing import Any

import bpy

sys.path.insert(0, str(Path(__file__).resolve().parent))  # Blender runs this as a script, not a package
from blender_bottle_model import build_bottle
from blender_mesh import assign


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
    assign(plane, mat)
    return plane, image.image


def _world(photo_image: Any, strength: float, map_resolution: int = 0) -> None:
    """Light from the scene photo itself, wrapped around as an environment: glass reflects its colours.

    ``map_resolution`` > 0 replaces Cycles' automatic importance map (seconds to build per image) by
    one of that side: the same scene and light, sampled with other noise.
    """
    world = bpy.data.worlds.new("world")
    bpy.context.scene.world = world
    if map_resolution > 0:
        world.cycles.sampling_method = "MANUAL"
        world.cycles.sample_map_resolution = map_resolution
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


def _lying_pose(rng: random.Random) -> Any:
    """A bottle on its side, as in litter or on a table: spun about its own axis, laid across the
    picture (neck left or right), turned towards or away from the camera and seen a little from above.

    Built as a matrix product (own spin first, the turn towards the camera last), because the pose of
    a standing bottle as an Euler triple does not lay one down: its x angle would point it at the lens.
    """
    from mathutils import Matrix

    spin = Matrix.Rotation(rng.uniform(0, 2 * math.pi), 3, "Z")
    lay = Matrix.Rotation(rng.choice([-1.0, 1.0]) * (math.pi / 2 + rng.uniform(-0.25, 0.25)), 3, "Y")
    turn = Matrix.Rotation(rng.uniform(-0.6, 0.6), 3, "Z")
    look_down = Matrix.Rotation(rng.uniform(-0.5, 0.0), 3, "X")
    # "XYZ": the order an object's rotation_euler is applied in (assigning an Euler keeps only its angles)
    return (look_down @ turn @ lay @ spin).to_euler("XYZ")


def render_one(
    item: dict[str, Any], out_dir: Path, samples: int, threads: int, world_map_resolution: int = 0
) -> None:
    """One image: a bottle labelled ``item['label']`` in front of ``item['scene']``, drawn from its seed."""
    from mathutils import Euler, Vector

    bpy.ops.wm.read_factory_settings(use_empty=True)
    rng = random.Random(item["seed"])
    portrait = rng.random() < 0.65
    width, height = (
        (int(item["size"] * 0.75), item["size"]) if portrait else (item["size"], int(item["size"] * 0.75))
    )
    _render_settings(width, height, samples, threads)
    if item.get("lying"):
        tilt = _lying_pose(rng)
    else:  # standing or held: leaning a little forward, back or sideways, spun about its own axis
        # Built as "YXZ" but applied by Blender in the object's "XYZ" order, so the pivot and the
        # label's turn towards the camera below are off by the small lean. Kept as is: every render of
        # the bundled model was drawn this way, and a rebuilt folder must give the same images.
        tilt = Euler((rng.uniform(-0.55, 0.25), rng.uniform(-0.45, 0.45), rng.uniform(0, 2 * math.pi)), "YXZ")
    towards_camera = tilt.to_matrix().inverted() @ Vector((0.0, -1.0, 0.0))
    root, bottle_h, _ = build_bottle(
        rng,
        item["label"],
        math.atan2(towards_camera.y, towards_camera.x),
        {key: item[f"{key}_art"] for key in ("label", "cap") if item.get(f"{key}_art")},
    )
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
    frame_h = frame_long * 0.75 if portrait else frame_long
    # the bottle's axis runs up the picture when it stands and across it when it lies
    distance = span / (fill * (frame_h if item.get("lying") else frame_v))
    root.rotation_euler = tilt
    centre = Vector((rng.uniform(-0.15, 0.15), 0.0, rng.uniform(-0.12, 0.12))) * span / fill
    pivot = tilt.to_matrix() @ Vector((0.0, 0.0, (low + bottle_h) / 2))
    root.location = Vector((centre.x, distance, centre.z)) - pivot
    back = distance + rng.uniform(0.3, 3.0)
    plane_w = back * frame_long / 2 * 1.15
    plane, photo = _scene_plane(item["scene"], back, plane_w, plane_w)
    aspect = photo.size[0] / max(photo.size[1], 1)
    plane.scale = (plane_w * max(aspect, 1.0), plane_w / min(aspect, 1.0), 1.0)
    _world(photo, rng.uniform(0.3, 1.0), world_map_resolution)
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
            render_one(item, out_dir, job["samples"], job["threads"], job.get("world_map_resolution", 0))
        except Exception as error:  # one bad scene photo must not cost the rest of the job
            failed += 1
            print(f"capsight-render-failed {item['name']}: {error}", flush=True)
            continue
        print(f"capsight-render {n}/{len(job['items'])} {item['name']}", flush=True)
    if failed:
        raise SystemExit(f"{failed} of {len(job['items'])} images failed")


if __name__ == "__main__":
    main(sys.argv[sys.argv.index("--") + 1 :] if "--" in sys.argv else [])
