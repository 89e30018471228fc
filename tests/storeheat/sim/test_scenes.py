"""Scenario density, faces, cameras and the demo store file."""

from __future__ import annotations

import numpy as np
import pytest

from storeheat.paths import REPO_ROOT
from storeheat.sim.camera import PinholeCamera, calibration_points
from storeheat.sim.render import FACE_COS, FACE_MIN_HEAD_VISIBLE, CameraRenderer
from storeheat.sim.scenario import SCENARIOS, get_scenario
from storeheat.sim.stores import calibrated_store, demo_store_text, load_layout, with_resolution
from storeheat.sim.world import World


def _frames(scenario: str, *, seed: int, cameras: int, steps: int, every: int,
            resolution: tuple[int, int] = (320, 180)):  # type: ignore[no-untyped-def]
    store = with_resolution(calibrated_store(load_layout(), cameras=cameras), resolution)
    sc = get_scenario(scenario)
    world = World(store, sc, seed=seed)
    renderers = [CameraRenderer(store, PinholeCamera.from_config(c), sc, seed=seed)
                 for c in store.cameras]
    crowd = world.crowd()
    for k in range(steps):
        if k % every == 0:
            for r in renderers:
                yield r.camera.camera_id, crowd, *r.render(crowd, frame=k // every + 1)
        crowd = world.step()


def test_peak_puts_at_least_40_people_in_one_cameras_view() -> None:
    best = 0
    for _cam, _crowd, _img, truth in _frames("peak", seed=7, cameras=3, steps=20, every=10):
        best = max(best, int(np.count_nonzero(truth.visibility >= 0.25)))
    assert best >= 40


def test_scenarios_order_by_crowd_size() -> None:
    sizes = {}
    for name in ("quiet", "normal", "peak"):
        world = World(load_layout(), get_scenario(name), seed=3)
        for _ in range(50):
            crowd = world.step()
        sizes[name] = len(crowd)
    assert 0 < sizes["quiet"] < sizes["normal"] < sizes["peak"]
    assert set(SCENARIOS) == {"quiet", "normal", "peak"}


def test_face_visible_flag_follows_facing_and_occlusion() -> None:
    faces = hidden_turned = hidden_occluded = 0
    for _cam, _crowd, _img, truth in _frames("normal", seed=5, cameras=2, steps=30, every=10,
                                             resolution=(640, 360)):
        fv = truth.face_visible
        assert not (fv & (truth.facing <= FACE_COS)).any()
        assert not (fv & (truth.head_visibility < FACE_MIN_HEAD_VISIBLE)).any()
        # a visible face lies inside its head box
        hb, fb = truth.head_boxes[fv], truth.face_boxes[fv]
        assert (fb[:, 0] >= hb[:, 0] - 1).all() and (fb[:, 1] >= hb[:, 1] - 1).all()
        assert (fb[:, 0] + fb[:, 2] <= hb[:, 0] + hb[:, 2] + 1).all()
        faces += int(fv.sum())
        hidden_turned += int(((truth.facing < 0) & (truth.visibility > 0.5)).sum())
        hidden_occluded += int(((truth.facing > FACE_COS) & ~fv).sum())
    assert faces > 5 and hidden_turned > 5 and hidden_occluded > 0


def test_faces_have_detail_that_blur_removes() -> None:
    """A visible face is not a flat patch: eyes and mouth give it contrast."""
    for _cam, _crowd, img, truth in _frames("normal", seed=5, cameras=1, steps=1, every=1,
                                            resolution=(1280, 720)):
        sel = np.flatnonzero(truth.face_visible & (truth.face_boxes[:, 3] >= 10))
        for k in sel:
            x, y, w, h = truth.face_boxes[k].astype(int)
            crop = img[y:y + h, x:x + w].astype(float)
            assert crop.std() > 8.0
            return
    pytest.fail("no large visible face in the frames")


def test_camera_without_floor_view_raises() -> None:
    layout = load_layout()
    pose = layout.cameras[0].pose
    assert pose is not None
    skyward = PinholeCamera.from_pose("cam-x", pose.model_copy(
        update={"position_m": (-40.0, -40.0), "yaw_deg": -135.0}), (640, 360))
    from storeheat.sim.exceptions import SimulationError

    with pytest.raises(SimulationError, match="sees no floor"):
        calibration_points(skyward, layout)


def test_demo_store_file_is_what_the_camera_model_writes() -> None:
    text = (REPO_ROOT / "configs" / "demo-store.yaml").read_text()
    assert text == demo_store_text()


def test_pinhole_projection_agrees_with_written_calibration() -> None:
    store = calibrated_store(load_layout(), cameras=6)
    for cam in store.cameras:
        pin = PinholeCamera.from_config(cam)
        floor = np.array([[x, y] for x in (6.0, 12.0, 20.0) for y in (2.0, 8.0, 14.0)])
        px, z = pin.project_floor(floor)
        keep = z > 0.5
        via_h = cam.homography.floor_to_image(floor[keep])
        np.testing.assert_allclose(via_h, px[keep], atol=0.2)


def test_an_empty_store_renders_with_empty_truth() -> None:
    import dataclasses

    store = with_resolution(calibrated_store(load_layout(), cameras=1), (160, 90))
    sc = dataclasses.replace(get_scenario("quiet"), initial_groups=0, arrivals_per_hour=0.0)
    crowd = World(store, sc, seed=1).step()
    renderer = CameraRenderer(store, PinholeCamera.from_config(store.cameras[0]), sc, seed=1)
    img, truth = renderer.render(crowd, frame=1)
    assert len(crowd) == 0 and len(truth) == 0
    assert img.shape == (90, 160, 3) and img.dtype == np.uint8
    assert img.std() > 5  # the store itself is drawn


def test_lighting_follows_the_clock() -> None:
    store = with_resolution(calibrated_store(load_layout(), cameras=1), (160, 90))
    cam = PinholeCamera.from_config(store.cameras[0])
    noon = CameraRenderer(store, cam, get_scenario("normal"), seed=1, noise=False)
    morning = CameraRenderer(store, cam, get_scenario("quiet"), seed=1, noise=False)
    assert sum(noon.light(0.0)) > sum(morning.light(0.0))
    # passing clouds change the light within a run
    gains = [noon.light(float(t))[1] for t in range(0, 60, 5)]
    assert max(gains) - min(gains) > 0.01
