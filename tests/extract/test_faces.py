import sys

import numpy as np
import pytest

from nanoemox.cli.common import run
from nanoemox.cli.main import main as cli_main
from nanoemox.demo.media import clip_frames
from nanoemox.extract.faces import MTCNN_REQUIREMENT, FaceCropper, MissingPackageError, enlarge, ensure_detector


def test_enlarge_grows_around_the_centre_and_clamps():
    assert enlarge((40, 40, 60, 60), 0.5, 100, 100) == (35.0, 35.0, 65.0, 65.0)
    assert enlarge((0, 0, 20, 40), 0.5, 100, 100) == (0.0, 0.0, 25.0, 50.0)


@pytest.fixture(scope="module")
def mtcnn() -> FaceCropper:
    return FaceCropper("mtcnn", detect_size=128, margin=0.5, min_size=32)


@pytest.mark.parametrize("detector, detect_size", [("mtcnn", 128), ("opencv", 256)])  # Haar needs more pixels
def test_faces_found_on_the_photo_and_not_on_noise(detector, detect_size):
    cropper = FaceCropper(detector, detect_size=detect_size, margin=0.5, min_size=32)
    [(crops, mask), (empty, no_face)] = cropper([clip_frames(0.4, 10, 256), clip_frames(0.4, 10, 256, face=False)])
    assert crops.shape == (4, 224, 224, 3) and crops.dtype == np.uint8
    assert mask.all() and crops.std() > 10
    assert not no_face.any() and not empty.any()  # no face: zero crops, mask 0


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


def _largest(boxes):
    return max(boxes, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))


def test_one_batched_call_finds_the_boxes_each_frame_gives_alone(mtcnn):
    clips = [clip_frames(0.4, 10, 256, seed=1), clip_frames(0.4, 10, 256, seed=2)]
    for clip, found in zip(clips, mtcnn.detect(clips), strict=True):
        assert len(found) == len(clip)
        for frame, boxes in zip(clip, found, strict=True):
            [[alone]] = mtcnn.detect([frame[None]])
            assert boxes and alone
            np.testing.assert_allclose(_largest(boxes), _largest(alone), atol=0.5)
    [(crops, mask)] = mtcnn(clips[:1])
    [(crop, one_mask)] = mtcnn([clips[0][:1]])
    assert mask.all() and one_mask.all() and np.abs(crops[0].astype(int) - crop[0]).max() <= 1


def test_a_clips_boxes_do_not_depend_on_the_other_sizes_in_its_batch(mtcnn):
    clips = [clip_frames(0.3, 10, 256, seed=1), clip_frames(0.3, 10, 192, seed=2)[:, :, :150]]
    batched = mtcnn.detect(clips)
    for clip, found in zip(clips, batched, strict=True):
        [alone] = mtcnn.detect([clip])
        for boxes, own in zip(found, alone, strict=True):  # one call per size: no padding moves the pyramid
            assert boxes and boxes == own
    assert max(b[2] for frame in batched[1] for b in frame) <= 150 + 1  # boxes in the clip's own pixels


@pytest.mark.parametrize("detector", ["mtcnn", "opencv"])
def test_degenerate_frames_give_no_face_and_do_not_crash(detector, mtcnn):
    cropper = mtcnn if detector == "mtcnn" else FaceCropper("opencv", 256, 0.5, 32)
    odd = [np.full((2, 16, 16, 3), 128, np.uint8), np.full((2, 100, 4000, 3), 90, np.uint8)]
    odd.append(np.zeros((1, 1, 1, 3), np.uint8))
    for clips in ([clip] for clip in odd):
        [(crops, mask)] = cropper(clips)
        assert crops.shape == (len(clips[0]), 224, 224, 3) and not mask.any()
    out = cropper([*odd, clip_frames(0.2, 10, 256)])  # mixed with a real face in one batch
    assert [m.any() for _, m in out] == [False, False, False, True]
