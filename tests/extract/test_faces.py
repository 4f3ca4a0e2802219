import sys

import numpy as np
import pytest

from nanoemox.cli.common import run
from nanoemox.cli.main import main as cli_main
from nanoemox.extract.faces import MTCNN_REQUIREMENT, FaceCropper, MissingPackageError, enlarge, ensure_detector
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


def test_setup_checks_the_configured_detector(capsys):
    assert cli_main(["setup", "--preset", "tiny"]) == 0  # builds MTCNN with its packaged weights
    assert "face detector mtcnn: ready" in capsys.readouterr().out


def test_missing_mtcnn_package_names_the_command(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "facenet_pytorch", None)  # as in a plain `pip install nanoemox`
    with pytest.raises(MissingPackageError) as err:
        ensure_detector("mtcnn", 32)
    assert err.value.requirement == MTCNN_REQUIREMENT
    assert "nanoemox setup --install" in str(err.value) and "extract.face_detector=opencv" in str(err.value)
    assert run(cli_main, ["setup", "--preset", "tiny"]) == 2
    assert "error: facenet-pytorch is not installed" in capsys.readouterr().err
    ensure_detector("opencv", 32)  # the fallback needs no extra package
