"""A photo from the camera: live preview, capture, retake, use."""

from __future__ import annotations

from PySide6.QtCore import QCameraPermission, Qt, Slot
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtMultimedia import QCamera, QImageCapture, QMediaCaptureSession, QMediaDevices
from PySide6.QtMultimediaWidgets import QVideoWidget
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QStackedWidget, QWidget

from .devices import ASKING, camera_combo, camera_problem, chosen_camera, refill_cameras
from .dialog import CaptureDialog, ScratchPath

JPEG_QUALITY = 92


class PhotoDialog(CaptureDialog):
    def __init__(self, scratch_path: ScratchPath, parent: QWidget | None = None) -> None:
        super().__init__("Take a photo", scratch_path, parent)
        self.resize(720, 560)
        self.devices = camera_combo()
        self.preview = QVideoWidget()
        self.preview.setObjectName("cameraPreview")
        self.still = QLabel()
        self.still.setObjectName("photoStill")
        self.still.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.preview)
        self.pages.addWidget(self.still)
        self.capture_button = QPushButton("Capture")
        self.capture_button.setObjectName("captureButton")
        self.retake_button = QPushButton("Retake")
        self.retake_button.setObjectName("retakeButton")
        self.use_button = QPushButton("Use photo")
        self.use_button.setObjectName("useButton")
        self.use_button.setDefault(True)
        cancel = QPushButton("Cancel")
        buttons = QHBoxLayout()
        for widget in (self.devices, self.capture_button, self.retake_button, self.use_button, cancel):
            buttons.addWidget(widget)
        self.body.addWidget(self.pages, 1)
        self.body.addLayout(buttons)
        self.session = QMediaCaptureSession(self)
        self.image_capture = QImageCapture(self)
        self.session.setImageCapture(self.image_capture)
        self.session.setVideoOutput(self.preview)
        self.camera: QCamera | None = None
        self.photo: QImage | None = None
        self.capture_button.clicked.connect(self.take)
        self.retake_button.clicked.connect(self.retake)
        self.use_button.clicked.connect(self.use)
        cancel.clicked.connect(self.reject)
        self.devices.currentIndexChanged.connect(self._start_camera)
        self.image_capture.imageCaptured.connect(self._on_image_captured)
        self.image_capture.errorOccurred.connect(self._on_capture_error)
        self.watch = QMediaDevices(self)
        self.watch.videoInputsChanged.connect(self._on_cameras_changed)
        self._start_camera()

    @Slot()
    def _on_cameras_changed(self) -> None:
        refill_cameras(self.devices)
        self._start_camera()

    @Slot()
    def _start_camera(self) -> None:
        problem = camera_problem()
        if problem == ASKING:
            return self.ask_permission(QCameraPermission(), self._start_camera)
        self.show_message(problem)
        self.devices.setEnabled(not problem)
        if self.camera is not None:
            self.camera.stop()
            self.camera.deleteLater()
            self.camera = None
        if not problem:
            self.camera = QCamera(chosen_camera(self.devices), self)
            self.camera.errorOccurred.connect(self._on_camera_error)
            self.session.setCamera(self.camera)
            self.camera.start()
        self._set_live(not problem)

    def _set_live(self, live: bool) -> None:
        self.pages.setCurrentWidget(self.preview if live or self.photo is None else self.still)
        self.capture_button.setVisible(self.photo is None)
        self.capture_button.setEnabled(live and self.camera is not None)
        self.retake_button.setVisible(self.photo is not None)
        self.use_button.setVisible(self.photo is not None)

    @Slot()
    def take(self) -> None:
        if self.image_capture.isReadyForCapture():
            self.image_capture.capture()
        else:
            self.show_message("The camera is not ready yet; try again in a moment.", problem=False)

    @Slot()
    def retake(self) -> None:
        self.photo = None
        self._set_live(True)

    @Slot()
    def use(self) -> None:
        if self.photo is None:
            return
        path = self.scratch_path("photo", "jpg")
        if not self.photo.save(str(path), "JPEG", JPEG_QUALITY):
            return self.show_message(f"Could not save the photo to {path.parent}.")
        if self.camera is not None:
            self.camera.stop()
        self.deliver(path)

    @Slot(int, QImage)
    def _on_image_captured(self, _request: int, image: QImage) -> None:
        self.photo = image
        self.still.setPixmap(
            QPixmap.fromImage(image).scaled(self.pages.size(), Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
        )
        self._set_live(False)
        self.show_message("")

    @Slot(int, QImageCapture.Error, str)
    def _on_capture_error(self, _request: int, _error: QImageCapture.Error, message: str) -> None:
        self.show_message(f"The photo failed: {message}")

    @Slot(QCamera.Error, str)
    def _on_camera_error(self, _error: QCamera.Error, message: str) -> None:
        self.show_message(f"The camera failed: {message}. Is another app using it?")
        self.capture_button.setEnabled(False)

    def done(self, result: int) -> None:
        if self.camera is not None:
            self.camera.stop()
        super().done(result)
