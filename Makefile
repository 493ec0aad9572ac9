# MiMo Desktop: packaging entry points. `make package` builds the Debian package; see docs/packaging.md.
PYTHON ?= .venv/bin/python
VERSION := $(shell sed -n 's/^__version__ = "\(.*\)"$$/\1/p' mimo_desktop/__init__.py)
DEB := dist/mimo-desktop_$(VERSION)_amd64.deb

.PHONY: help package bundle test-package clean-package

help:
	@echo "make package        build $(DEB) (PyInstaller bundle + dpkg-deb; ~3-5 min)"
	@echo "make bundle         only the PyInstaller bundle, in build/bundle/mimo-desktop"
	@echo "make test-package   build the package and test it (tests/packaging)"
	@echo "make clean-package  remove the build outputs (build/bundle, build/pyinstaller, build/deb-root, dist/*.deb)"

package:
	PYTHON=$(PYTHON) bash packaging/build_deb.sh

bundle:
	$(PYTHON) -m PyInstaller --noconfirm --log-level WARN --distpath build/bundle --workpath build/pyinstaller \
		packaging/mimo-desktop.spec

test-package:
	$(PYTHON) -m pytest tests/packaging -q

clean-package:
	rm -rf build/bundle build/pyinstaller build/deb-root build/wheel build/package-report.txt dist/mimo-desktop_*.deb
