"""Frames in: validate and normalise to 8-bit BGR, and convert sensor_msgs/Image without cv_bridge.

Every detector takes ``HxWx3 uint8 BGR`` (OpenCV's order). Anything else is converted when
it unambiguously can be (grey, BGRA, 16-bit) and refused with a :class:`FrameError` naming
the problem when it cannot (0×0, 2 channels, a buffer shorter than its header says).
"""

from __future__ import annotations

import cv2
import numpy as np

MAX_SIDE = 8192


class FrameError(ValueError):
    """A frame that cannot be used: the message says why."""


def to_bgr(frame: object) -> np.ndarray:
    """A usable ``HxWx3 uint8`` BGR view/copy of ``frame``, or :class:`FrameError`."""
    if not isinstance(frame, np.ndarray):
        raise FrameError(f"frame is {type(frame).__name__}, not an image array")
    if frame.ndim not in (2, 3) or frame.size == 0 or min(frame.shape[:2]) == 0:
        raise FrameError(f"empty or malformed frame of shape {frame.shape}")
    if max(frame.shape[:2]) > MAX_SIDE:
        raise FrameError(f"frame {frame.shape[1]}x{frame.shape[0]} larger than {MAX_SIDE} px")
    if frame.dtype == np.uint16:
        frame = (frame >> 8).astype(np.uint8)
    elif frame.dtype in (np.float32, np.float64):
        frame = np.clip(frame * 255.0 if frame.max() <= 1.0 else frame, 0, 255).astype(np.uint8)
    elif frame.dtype != np.uint8:
        raise FrameError(f"unsupported pixel type {frame.dtype}")
    if frame.ndim == 2 or frame.shape[2] == 1:
        return cv2.cvtColor(frame.reshape(frame.shape[:2]), cv2.COLOR_GRAY2BGR)
    channels = frame.shape[2]
    if channels == 3:
        return frame
    if channels == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR)
    raise FrameError(f"frame has {channels} channels; expected 1, 3 or 4")


# sensor_msgs/Image encodings → (channels, dtype, conversion to BGR or None)
_ENCODINGS: dict[str, tuple[int, type, int | None]] = {
    "bgr8": (3, np.uint8, None),
    "rgb8": (3, np.uint8, cv2.COLOR_RGB2BGR),
    "bgra8": (4, np.uint8, cv2.COLOR_BGRA2BGR),
    "rgba8": (4, np.uint8, cv2.COLOR_RGBA2BGR),
    "mono8": (1, np.uint8, cv2.COLOR_GRAY2BGR),
    "8UC1": (1, np.uint8, cv2.COLOR_GRAY2BGR),
    "8UC3": (3, np.uint8, None),
    "mono16": (1, np.uint16, None),
    "16UC1": (1, np.uint16, None),
    "yuv422": (2, np.uint8, cv2.COLOR_YUV2BGR_UYVY),  # ROS's yuv422 is UYVY
    "uyvy": (2, np.uint8, cv2.COLOR_YUV2BGR_UYVY),
    "yuv422_yuy2": (2, np.uint8, cv2.COLOR_YUV2BGR_YUY2),
    "yuyv": (2, np.uint8, cv2.COLOR_YUV2BGR_YUY2),
}


def image_msg_to_bgr(msg: object) -> np.ndarray:
    """``sensor_msgs/Image`` → BGR array (the cv_bridge job, for the encodings cameras use)."""
    encoding = str(getattr(msg, "encoding", "")).strip()
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    if encoding not in _ENCODINGS:
        raise FrameError(f"unsupported image encoding {encoding!r} "
                         f"(supported: {', '.join(sorted(_ENCODINGS))})")
    if height == 0 or width == 0:
        raise FrameError(f"empty image {width}x{height}")
    channels, dtype, conversion = _ENCODINGS[encoding]
    itemsize = np.dtype(dtype).itemsize
    row = width * channels * itemsize
    if step < row:
        raise FrameError(f"step {step} shorter than a row of {width} {encoding} pixels ({row})")
    data = bytes(msg.data)
    if len(data) < step * height:
        raise FrameError(f"image data has {len(data)} bytes; {width}x{height} with step {step} "
                         f"needs {step * height}")
    rows = np.frombuffer(data, np.uint8, step * height).reshape(height, step)[:, :row]
    pixels = rows.copy().view(dtype)
    if itemsize > 1 and bool(getattr(msg, "is_bigendian", 0)) != (np.little_endian is False):
        pixels = pixels.byteswap()
    pixels = pixels.reshape(height, width, channels)
    if dtype == np.uint16:
        return to_bgr(pixels[:, :, 0])
    if conversion is None:
        return pixels
    if channels == 1:
        return cv2.cvtColor(pixels[:, :, 0], conversion)
    return cv2.cvtColor(pixels, conversion)


def bgr_to_image_fields(frame: np.ndarray, encoding: str = "bgr8") -> dict[str, object]:
    """Fields of a ``sensor_msgs/Image`` carrying ``frame`` (bgr8 or rgb8)."""
    frame = to_bgr(frame)
    if encoding == "rgb8":
        frame = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    elif encoding != "bgr8":
        raise FrameError(f"can only send bgr8 or rgb8, not {encoding!r}")
    height, width = frame.shape[:2]
    return {"height": height, "width": width, "encoding": encoding, "is_bigendian": 0,
            "step": width * 3, "data": np.ascontiguousarray(frame).tobytes()}
