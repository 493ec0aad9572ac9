"""The engine seen from the window: bridge, start/stop control, status, model check and download."""
