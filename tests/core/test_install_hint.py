"""What the app tells a person to run to add the embedded engine."""


def test_the_vllm_hint_fits_how_the_app_was_installed(monkeypatch):
    import sys

    from mimo_desktop.core.install_hint import add_vllm_hint

    assert "pip install 'mimo-desktop[gpu]'" in add_vllm_hint()
    monkeypatch.setattr(sys, "frozen", True, raising=False)  # what PyInstaller sets in the packaged app
    assert "mimo-desktop-gpu-setup" in add_vllm_hint()
