"""The first-hour test, on its own: `.venv/bin/python tests/first_hour.py [vite|cra|next]...`.

It follows the README and docs/cloudbuild.md on the three example apps (Vite `dist/`, Create
React App `build/`, Next.js static export `out/`): record, npm ci and build with the env
file, seal, docker build on an nginx base laid out like the official image, verify of the
daemon's image, push to a registry on loopback and verify of the digest, a real nginx
serving it and verify-live. It starts its own dockerd and registry (as root, like the
tests); tests/test_first_hour.py runs the same on the test session's services.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "support"))

from firsthour import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
