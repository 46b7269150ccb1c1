"""``lobbybot vision FILE``: faces and queue zones of an image or a video, one JSON line a frame.

    {"frame", "faces": [{"id", "bbox", "score", "distance_m", "engaged"}],
     "people": [{"bbox", "score", "zone"}], "zones": {ZONE: count}}

Zones come from the branch config's ``lobby_camera`` section (scaled to the frame size).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("vision", help="faces and queue zones of an image or video (JSON lines)",
                       description="Run the face and/or queue pipeline on FILE (image or "
                                   "video; a device index or stream URL also works).")
    p.add_argument("file")
    p.add_argument("--mode", choices=("faces", "queues", "both"), default="both")
    p.add_argument("--face-detector", default="auto", help="auto, mtcnn, res10 or haar")
    p.add_argument("--person-detector", default="auto", help="auto, ssdlite or hog")
    p.add_argument("--config", default=str(REPO / "config" / "branch.yaml"),
                   help="branch config with the lobby_camera zones")
    p.add_argument("--min-face-px", type=int, default=40,
                   help="smallest face side looked for (default 40 px)")
    p.add_argument("--max-frames", type=int, default=0, help="stop after N frames (0: all)")


def run(args: argparse.Namespace) -> int:
    import cv2

    from routing.config import BranchConfigError, load_branch_config

    from .camera import IMAGE_SUFFIXES, SourceError, read_frames
    from .face_detectors import ModelMissing, make_face_detector
    from .faces import FacePipeline
    from .frames import FrameError
    from .people import make_person_detector
    from .queues import QueuePipeline

    cv2.setNumThreads(1)
    faces = queues = None
    try:
        if args.mode in ("faces", "both"):
            still = Path(args.file).suffix.lower() in IMAGE_SUFFIXES
            faces = FacePipeline(make_face_detector(args.face_detector, args.min_face_px),
                                 min_face_px=args.min_face_px, confirm_hits=1 if still else 2)
        if args.mode in ("queues", "both"):
            config = load_branch_config(args.config)
            if config.lobby_camera is None:
                raise BranchConfigError(f"{args.config}: no lobby_camera section (zones)")
            zones = {z: config.counter_of_zone(z) for z in config.lobby_camera.zones}
            queues = QueuePipeline(make_person_detector(args.person_detector),
                                   config.lobby_camera, zones)
        for index, stamp, frame in read_frames(args.file):
            out = {"frame": index, "faces": [], "people": [], "zones": {}}
            if faces is not None:
                out["faces"] = [f.as_json() for f in faces.process(frame, stamp)]
            if queues is not None:
                result = queues.process(frame, stamp)
                out["people"] = [p.as_json() for p in result.people]
                out["zones"] = result.raw_counts
            print(json.dumps(out), flush=True)
            if args.max_frames and index + 1 >= args.max_frames:
                break
    except (SourceError, FrameError, ModelMissing, BranchConfigError, ValueError) as exc:
        print(f"lobbybot vision: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    return 0
