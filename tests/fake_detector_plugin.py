"""A face detector plugin for the tests: finds marker faces (tests/face_scenes.py) exactly.

Each connected red region is a face (its bounding box, score = its fill), with the blue dots inside it as the
two eyes. `eyes=false` leaves the landmarks out (a detector that gives boxes only)."""

import numpy as np
from scipy import ndimage

from fbn_bench import DetectorSpec, Option, hookimpl
from fbn_bench.faces import Face

CALLS = {"built": 0}


def build(*, eyes: bool):
    CALLS["built"] += 1

    def detect(image):
        r, g, b = (image[..., i].astype(int) for i in range(3))
        red = (r > 150) & (g < 90) & (b < 90)
        blue = (b > 150) & (r < 90) & (g < 90)
        labels, n = ndimage.label(red | blue)
        faces = []
        for region in ndimage.find_objects(labels):
            ys, xs = region
            if not red[region].any():
                continue
            box = (xs.start, ys.start, xs.stop - xs.start, ys.stop - ys.start)
            landmarks = None
            dots, k = ndimage.label(blue[region])
            if eyes and k == 2:
                centres = ndimage.center_of_mass(blue[region], dots, [1, 2])
                landmarks = np.full((5, 2), np.nan)
                landmarks[:2] = [(xs.start + cx, ys.start + cy) for cy, cx in centres]
            faces.append(Face(box, float(red[region].mean()), landmarks))
        return faces

    return detect


@hookimpl
def register_detectors(register):
    register(DetectorSpec("markers", build, "marker faces (tests)", options=(Option("eyes", bool, True),)))
