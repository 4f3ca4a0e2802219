import numpy as np
import pytest

from nanoemox.extract.faces import FaceCropper, enlarge
from nanoemox.synth import clip_frames


def test_enlarge_grows_around_the_centre_and_clamps():
    assert enlarge((40, 40, 60, 60), 0.5, 100, 100) == (35.0, 35.0, 65.0, 65.0)
    assert enlarge((0, 0, 20, 40), 0.5, 100, 100) == (0.0, 0.0, 25.0, 50.0)


@pytest.mark.parametrize("detector, detect_size", [("mtcnn", 128), ("opencv", 256)])  # Haar needs more pixels
def test_faces_found_on_the_photo_and_not_on_noise(detector, detect_size):
    cropper = FaceCropper(detector, detect_size=detect_size, margin=0.5, min_size=32)
    crops, mask = cropper(clip_frames(0.4, 10, 256, face=True))
    assert crops.shape == (4, 224, 224, 3) and crops.dtype == np.uint8
    assert mask.all() and crops.std() > 10
    crops, mask = cropper(clip_frames(0.4, 10, 256, face=False))
    assert not mask.any() and not crops.any()  # no face: zero crops, mask 0
