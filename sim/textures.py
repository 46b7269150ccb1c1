"""Customers' looks: billboards textured with real photographs, so the real detectors fire.

Each customer has two billboards, as a sprite-based simulator would: a *face* board for the
robot's head camera — the standing man of OpenCV's ``basketball1.png`` with a different real
face from scikit-image's ``lfw_subset`` set into it — and a *body* board for the lobby
camera: a real pedestrian from OpenCV's ``vtest.avi`` (``sim/data/people``, colour, whole
body; the grey close-up photo is not a person to SSDLite at lobby-camera distance). Textures
are written as OBJ + MTL + PNG for Drake's VTK renderer into a temporary directory that the
world removes; they are test photographs, never images of real customers.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

PHOTOS = Path(__file__).resolve().parents[1] / "vision" / "data" / "photos"
PEOPLE = Path(__file__).resolve().parent / "data" / "people"
PERSON_HEIGHT_M = 1.75
PERSON_WIDTH_M = 0.64
BODY_BOX = (25, 80, 145, 400)  # x, y, w, h of the man in basketball1.png
FACE_IN_BODY = (41, 4, 42, 54)  # his face inside that crop
SCALE = 2  # texture pixels per photo pixel: a face close to the robot stays sharp


def _faces() -> np.ndarray:
    try:
        from skimage import data
    except ImportError:  # the body photo's own face for everyone
        return np.zeros((0, 25, 25), np.uint8)
    return (data.lfw_subset()[:100] * 255).astype(np.uint8)


def person_images(count: int) -> list[np.ndarray]:
    photo = cv2.imread(str(PHOTOS / "basketball1.png"), cv2.IMREAD_GRAYSCALE)
    if photo is None:
        raise FileNotFoundError(f"{PHOTOS / 'basketball1.png'} missing")
    x, y, w, h = BODY_BOX
    body = photo[y:y + h, x:x + w]
    faces = _faces()
    images = []
    for index in range(count):
        person = body.copy()
        if index > 0 and len(faces):
            fx, fy, fw, fh = FACE_IN_BODY
            face = cv2.resize(faces[(index * 7) % len(faces)], (fw, fh),
                              interpolation=cv2.INTER_CUBIC)
            mask = np.zeros((fh, fw), np.float32)
            cv2.ellipse(mask, (fw // 2, fh // 2), (fw // 2 - 1, fh // 2 - 1), 0, 0, 360, 1, -1)
            mask = cv2.GaussianBlur(mask, (0, 0), 2)
            region = person[fy:fy + fh, fx:fx + fw].astype(np.float32)
            person[fy:fy + fh, fx:fx + fw] = (mask * face + (1 - mask) * region).astype(np.uint8)
        person = cv2.resize(person, (w * SCALE, h * SCALE), interpolation=cv2.INTER_CUBIC)
        images.append(cv2.cvtColor(person, cv2.COLOR_GRAY2BGR))
    return images


def body_images() -> list[np.ndarray]:
    paths = sorted(PEOPLE.glob("*.png"))
    if not paths:
        raise FileNotFoundError(f"no pedestrian photos in {PEOPLE}")
    return [cv2.imread(str(path)) for path in paths]


def _billboard(directory: Path, name: str, image: np.ndarray, width_m: float,
               height_m: float) -> Path:
    """A quad facing +X with its bottom edge on the floor, textured with ``image``."""
    png = directory / f"{name}.png"
    cv2.imwrite(str(png), image)
    (directory / f"{name}.mtl").write_text(
        f"newmtl board\nKa 1 1 1\nKd 1 1 1\nKs 0 0 0\nd 1\nillum 1\nmap_Kd {png.name}\n")
    half = width_m / 2
    obj = directory / f"{name}.obj"
    # Seen from +X (the front), +Y is to the right: counter-clockwise A B C D.
    obj.write_text(
        f"mtllib {name}.mtl\n"
        f"v 0 {-half} 0\nv 0 {half} 0\nv 0 {half} {height_m}\nv 0 {-half} {height_m}\n"
        "vt 0 0\nvt 1 0\nvt 1 1\nvt 0 1\nvn 1 0 0\nusemtl board\n"
        "f 1/1/1 2/2/1 3/3/1\nf 1/1/1 3/3/1 4/4/1\n")
    return obj


def person_textures(directory: Path, count: int) -> list[Path]:
    """``count`` face billboards (the head camera's view of a customer)."""
    return [_billboard(directory, f"face_{i}", image, PERSON_WIDTH_M, PERSON_HEIGHT_M)
            for i, image in enumerate(person_images(count))]


def body_textures(directory: Path, count: int) -> list[Path]:
    """``count`` whole-body billboards (the lobby camera's view), cycling the pedestrians."""
    bodies = body_images()
    out = []
    for i in range(count):
        image = bodies[i % len(bodies)]
        scaled = cv2.resize(image, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)
        width_m = PERSON_HEIGHT_M * image.shape[1] / image.shape[0]
        out.append(_billboard(directory, f"body_{i}", scaled, width_m, PERSON_HEIGHT_M))
    return out
