"""The simulated lobby: an SDFormat world loaded by Drake and rendered on the CPU (VTK).

Drake parses the world with the real libsdformat and owns the geometry; lobbybot keeps no
second copy. Cameras are ``<sensor type="camera">`` elements (Drake ignores sensors, so their
intrinsics are read from the same file; their poses come from Drake's frames). Customers are
free bodies, each a textured billboard (a real person photograph) posed every frame.
"""

from __future__ import annotations

import logging
import math
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from routing.config import BranchConfig

from .textures import body_textures, person_textures

WORLDS = Path(__file__).resolve().parent / "worlds"
PARKED_Z = -50.0  # billboards not in use wait under the floor


class WorldError(ValueError):
    """A world that cannot be simulated: the message names the file and, if known, line."""


@dataclass(frozen=True)
class CameraSpec:
    name: str
    model: str
    link: str
    width: int
    height: int
    hfov_rad: float
    near: float
    far: float
    rate_hz: float

    @property
    def fx(self) -> float:
        return self.width / 2 / math.tan(self.hfov_rad / 2)


def _cameras(path: Path) -> dict[str, CameraSpec]:
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise WorldError(f"{path}:{exc.position[0]}: not well-formed XML: {exc}") from None
    out = {}
    for model in root.iter("model"):
        for link in model.iter("link"):
            for sensor in link.iter("sensor"):
                if sensor.get("type") != "camera":
                    continue
                camera = sensor.find("camera")
                image = camera.find("image") if camera is not None else None
                if camera is None or image is None:
                    raise WorldError(f"{path}: camera sensor {sensor.get('name')} needs "
                                     "<camera><image>")

                def number(node: ET.Element | None, tag: str, default: float | None = None,
                           sensor_name: str = str(sensor.get("name"))) -> float:
                    element = node.find(tag) if node is not None else None
                    if element is None or element.text is None:
                        if default is None:
                            raise WorldError(f"{path}: camera {sensor_name}: missing <{tag}>")
                        return default
                    return float(element.text)

                clip = camera.find("clip")
                out[str(sensor.get("name"))] = CameraSpec(
                    str(sensor.get("name")), str(model.get("name")), str(link.get("name")),
                    int(number(image, "width")), int(number(image, "height")),
                    number(camera, "horizontal_fov"), number(clip, "near", 0.05),
                    number(clip, "far", 50.0), number(sensor, "update_rate", 10.0))
    return out


class World:
    """Geometry from the SDF world (Drake), cameras, and a pool of customer billboards."""

    def __init__(self, path: Path, config: BranchConfig, billboards: int = 24):
        from pydrake.all import (
            AddMultibodyPlantSceneGraph,
            DiagramBuilder,
            MakeRenderEngineVtk,
            Parser,
            RenderEngineVtkParams,
        )

        self.path = Path(path)
        if not self.path.is_file():
            raise WorldError(f"{self.path}: no such world file")
        self.cameras = _cameras(self.path)
        builder = DiagramBuilder()
        self.plant, self.scene_graph = AddMultibodyPlantSceneGraph(builder, 0.0)
        parser = Parser(self.plant)
        logging.getLogger("drake").setLevel(logging.ERROR)  # "unsupported element: sensor"
        try:
            parser.AddModels(str(self.path))
        except RuntimeError as exc:
            raise WorldError(str(exc).strip()) from None
        self._texture_dir = tempfile.TemporaryDirectory(prefix="lobbybot-sim-")
        textures = Path(self._texture_dir.name)

        def boards(kind: str, objs: list[Path]) -> list:
            out = []
            for index, obj in enumerate(objs):
                sdf = (f'<?xml version="1.0"?><sdf version="1.9"><model name="{kind}_{index}">'
                       f'<link name="link"><visual name="v"><geometry><mesh><uri>file://{obj}'
                       '</uri></mesh></geometry></visual></link></model></sdf>')
                model = parser.AddModelsFromString(sdf, "sdf")[0]
                out.append(self.plant.GetBodyByName("link", model))
            return out

        # Per customer: a face board (head camera) and a body board (lobby camera).
        self.billboards = boards("customer_face", person_textures(textures, billboards))
        self.bodies = boards("customer_body", body_textures(textures, billboards))
        self.plant.Finalize()
        self.scene_graph.AddRenderer("vtk", MakeRenderEngineVtk(RenderEngineVtkParams()))
        self.diagram = builder.Build()
        self.context = self.diagram.CreateDefaultContext()
        self._plant_context = self.plant.GetMyMutableContextFromRoot(self.context)
        self._sg_context = self.scene_graph.GetMyContextFromRoot(self.context)
        for body in [*self.billboards, *self.bodies]:
            self.place(body, (0.0, 0.0), 0.0, hidden=True)
        self.check_against(config)
        self._render_cameras = {name: self._render_camera(spec)
                                for name, spec in self.cameras.items()}

    # -- layout ----------------------------------------------------------------------------
    def model_pose(self, name: str) -> tuple[float, float, float]:
        """(x, y, yaw) of a model's first link in the world."""
        from pydrake.all import RollPitchYaw

        model = self.plant.GetModelInstanceByName(name)
        body = self.plant.get_body(self.plant.GetBodyIndices(model)[0])
        pose = body.EvalPoseInWorld(self._plant_context)
        return float(pose.translation()[0]), float(pose.translation()[1]), float(
            RollPitchYaw(pose.rotation()).yaw_angle())

    def has_model(self, name: str) -> bool:
        return self.plant.HasModelInstanceNamed(name)

    def check_against(self, config: BranchConfig) -> None:
        """Every counter, machine and camera zone of the branch has its model in the world."""
        missing = [f"counter_{c}" for c in config.counters if not self.has_model(f"counter_{c}")]
        missing += [f"machine_{m}" for m in config.machines
                    if not self.has_model(f"machine_{m}")]
        if config.lobby_camera is not None:
            missing += [f"zone_{z}" for z in config.lobby_camera.zones
                        if not self.has_model(f"zone_{z}")]
        if missing:
            raise WorldError(f"{self.path}: no model for {', '.join(missing)} of branch "
                             f"{config.branch_id} ({config.source})")
        for name in ("head_camera", "lobby_camera"):
            if name not in self.cameras:
                raise WorldError(f"{self.path}: no camera sensor named {name}")

    def camera_pose(self, name: str):
        """Pose of the camera's optical frame (Drake renders along +Z; SDF looks along +X)."""
        from pydrake.all import RigidTransform, RollPitchYaw

        spec = self.cameras[name]
        model = self.plant.GetModelInstanceByName(spec.model)
        link = self.plant.GetBodyByName(spec.link, model)
        X_WL = link.EvalPoseInWorld(self._plant_context)
        return X_WL @ RigidTransform(RollPitchYaw(-math.pi / 2, 0, -math.pi / 2), [0, 0, 0])

    def _render_camera(self, spec: CameraSpec):
        from pydrake.all import (
            CameraInfo,
            ClippingRange,
            ColorRenderCamera,
            RenderCameraCore,
            RigidTransform,
        )

        info = CameraInfo(spec.width, spec.height, _vfov(spec))
        core = RenderCameraCore("vtk", info, ClippingRange(spec.near, spec.far), RigidTransform())
        return ColorRenderCamera(core, False)

    # -- customers -------------------------------------------------------------------------
    def place(self, body, xy: tuple[float, float], facing_yaw: float,
              hidden: bool = False) -> None:
        """Stand a billboard at ``xy`` with its picture facing ``facing_yaw``."""
        from pydrake.all import RigidTransform, RollPitchYaw

        z = PARKED_Z if hidden else 0.0
        self.plant.SetFreeBodyPose(self._plant_context, body, RigidTransform(
            RollPitchYaw(0, 0, facing_yaw), [xy[0], xy[1], z]))

    def render(self, camera: str) -> np.ndarray:
        """RGB ``HxWx3 uint8`` from the named camera."""
        query = self.scene_graph.get_query_output_port().Eval(self._sg_context)
        image = query.RenderColorImage(self._render_cameras[camera],
                                       self.scene_graph.world_frame_id(),
                                       self.camera_pose(camera))
        return np.array(image.data[:, :, :3], copy=True)

    def floor_to_image(self, camera: str, points: np.ndarray) -> np.ndarray:
        """Project floor points (x, y, z=0) into the camera's pixels (pinhole)."""
        spec = self.cameras[camera]
        X_CW = self.camera_pose(camera).inverse()
        pts = np.column_stack([points, np.zeros(len(points))]) if points.shape[1] == 2 \
            else points
        cam = (X_CW.rotation().matrix() @ pts.T).T + X_CW.translation()
        fy = spec.height / 2 / math.tan(_vfov(spec) / 2)
        u = spec.fx * cam[:, 0] / cam[:, 2] + spec.width / 2
        v = fy * cam[:, 1] / cam[:, 2] + spec.height / 2
        return np.column_stack([u, v])

    def image_to_floor_homography(self, camera: str) -> np.ndarray:
        """3×3 homography from the camera's pixels to floor metres (the calibration a real
        install measures once; the sim computes it from the world)."""
        import cv2

        floor = np.array([[2.0, 5.0], [10.0, 5.0], [10.0, 8.0], [2.0, 8.0]])
        pixels = self.floor_to_image(camera, floor).astype(np.float32)
        return cv2.getPerspectiveTransform(pixels, floor.astype(np.float32))

    def close(self) -> None:
        self._texture_dir.cleanup()


def _vfov(spec: CameraSpec) -> float:
    return 2 * math.atan(math.tan(spec.hfov_rad / 2) * spec.height / spec.width)

