"""Regenerate docs/screenshot.png: the upload page, in headless Chromium, classifying one photo.

Why a script: the README picture should show the bundled model that ships, so it is redrawn each
time the model changes rather than kept by hand.

    .venv/bin/python scripts/screenshot.py PHOTO [--out docs/screenshot.png] [--model models/bottle-status]

Starts `capsight serve` on a free loopback port with a throwaway state folder, uploads PHOTO through
the page's file input (after three warm-up requests with variants of it, so the server time shown
is a steady one and not a cache hit),
and saves the viewport with motion reduced (the bars drawn at once), as a 256-colour PNG to keep the
README light. Run it on an idle machine.
"""

from __future__ import annotations

import argparse
import io
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from PIL import Image, ImageOps
from playwright.sync_api import FilePayload, sync_playwright

CHROMIUM = "/usr/bin/chromium"
VIEWPORT = {"width": 1100, "height": 825}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, server: subprocess.Popen[bytes], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"capsight serve exited with {server.returncode}")
        try:
            if httpx.get(url + "/health/ready", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("capsight serve did not become ready")


def warmup_images(photo: Path) -> list[bytes]:
    """Three variants of the photo (mirrored, shifted tones): same cost, different bytes."""
    image = Image.open(photo).convert("RGB")
    variants = [ImageOps.mirror(image), ImageOps.flip(image), ImageOps.autocontrast(image, cutoff=2)]
    out = []
    for variant in variants:
        buf = io.BytesIO()
        variant.save(buf, "JPEG", quality=90)
        out.append(buf.getvalue())
    return out


def save_small(png: bytes, out: Path) -> None:
    """A 256-colour palette: the page is flat colours and text, and the README picture shrinks to about
    half (about 115 KB, not 200 KB) with no difference to see beside the photo's own grain."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(out, optimize=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photo", type=Path)
    parser.add_argument("--out", type=Path, default=Path("docs/screenshot.png"))
    parser.add_argument("--model", type=Path, default=Path("models/bottle-status"))
    args = parser.parse_args()
    if not args.photo.is_file():
        raise SystemExit(f"no such photo: {args.photo}")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    capsight = Path(sys.executable).with_name("capsight")
    with tempfile.TemporaryDirectory() as state:
        env = {**os.environ, "CAPSIGHT_DATA_DIR": state}
        cmd = [str(capsight), "serve", "--port", str(port), "--model", str(args.model)]
        server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_ready(url, server)
            warmups = warmup_images(args.photo)
            for warmup in warmups:  # not the photo itself: that would be a cache hit
                httpx.post(url + "/classify", files={"file": warmup}, timeout=30.0)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
                )
                # Reduced motion: the page then draws its probability bars at full width at once
                # (style.css), so the picture never catches them mid-transition.
                page = browser.new_page(viewport=VIEWPORT, reduced_motion="reduce")  # type: ignore[arg-type]
                page.goto(url + "/")
                page.wait_for_selector("#model-info.ready")
                # One upload through the page first: Chromium's own first-use work (decoding the
                # preview, fonts, layout) then does not run beside the request that is shown.
                page.set_input_files(
                    "#file-input",
                    files=[FilePayload(name="warmup.jpg", mimeType="image/jpeg", buffer=warmups[0])],
                )
                page.wait_for_selector("#result:not([hidden])", timeout=15_000)
                before = page.inner_text("#result")
                page.set_input_files("#file-input", str(args.photo))
                page.wait_for_function(
                    """before => {
                        const result = document.querySelector('#result');
                        return !result.hidden && result.innerText !== before;
                    }""",
                    arg=before,
                    timeout=15_000,
                )
                args.out.parent.mkdir(parents=True, exist_ok=True)
                shot = page.screenshot(animations="disabled")
                save_small(shot, args.out)
                label = page.inner_text("#result").splitlines()[:4]
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=10)
    print(f"{args.out}: {' '.join(label)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
