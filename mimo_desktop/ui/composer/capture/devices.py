"""Which cameras and microphones exist, and whether we may use them: answers in words, never a crash."""

from __future__ import annotations

from PySide6.QtCore import QCameraPermission, QCoreApplication, QMicrophonePermission, Qt
from PySide6.QtMultimedia import QAudioDevice, QCameraDevice, QMediaDevices
from PySide6.QtWidgets import QComboBox

NO_CAMERA = "No camera was found. Connect one (or check that another app is not using it), then try again."
NO_MICROPHONE = "No microphone was found. Connect one or choose an input in the system's sound settings, then try again."
CAMERA_DENIED = "MiMo Desktop is not allowed to use the camera. Allow it in the system's privacy settings."
MICROPHONE_DENIED = "MiMo Desktop is not allowed to use the microphone. Allow it in the system's privacy settings."
ASKING = "Asking for permission…"


def permission_problem(permission: QCameraPermission | QMicrophonePermission, denied: str) -> str:
    """"" when granted; a sentence otherwise (Linux always grants; macOS and Windows may ask)."""
    app = QCoreApplication.instance()
    status = app.checkPermission(permission) if app is not None else Qt.PermissionStatus.Granted
    if status == Qt.PermissionStatus.Granted:
        return ""
    return denied if status == Qt.PermissionStatus.Denied else ASKING


def camera_problem() -> str:
    if not QMediaDevices.videoInputs():
        return NO_CAMERA
    return permission_problem(QCameraPermission(), CAMERA_DENIED)


def microphone_problem() -> str:
    if not QMediaDevices.audioInputs():
        return NO_MICROPHONE
    return permission_problem(QMicrophonePermission(), MICROPHONE_DENIED)


def camera_combo() -> QComboBox:
    """A device chooser holding QCameraDevice items, the system default first."""
    combo = QComboBox()
    combo.setObjectName("cameraChoice")
    combo.setAccessibleName("Camera")
    refill_cameras(combo)
    return combo


def microphone_combo() -> QComboBox:
    combo = QComboBox()
    combo.setObjectName("microphoneChoice")
    combo.setAccessibleName("Microphone")
    refill_microphones(combo)
    return combo


def refill_cameras(combo: QComboBox) -> None:
    """List the cameras again (one was plugged in or out), keeping the choice when it is still there."""
    default = QMediaDevices.defaultVideoInput()
    _refill(combo, sorted(QMediaDevices.videoInputs(), key=lambda d: d.id() != default.id()))


def refill_microphones(combo: QComboBox) -> None:
    default = QMediaDevices.defaultAudioInput()
    _refill(combo, sorted(QMediaDevices.audioInputs(), key=lambda d: d.id() != default.id()))


def _refill(combo: QComboBox, devices: list) -> None:
    current = combo.currentData()
    combo.blockSignals(True)  # one "changed" at the end, not one per item
    combo.clear()
    for device in devices:
        combo.addItem(device.description(), device)
    kept = next((i for i, d in enumerate(devices) if current is not None and d.id() == current.id()), 0)
    combo.setCurrentIndex(kept if devices else -1)
    combo.blockSignals(False)


def chosen_camera(combo: QComboBox) -> QCameraDevice:
    return combo.currentData() or QCameraDevice()


def chosen_microphone(combo: QComboBox) -> QAudioDevice:
    return combo.currentData() or QAudioDevice()
