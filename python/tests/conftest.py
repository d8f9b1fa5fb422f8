"""Runs the suite against this source tree and the repository's built library."""

import os
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "python"))
os.environ.setdefault("PRISE_LIBRARY", os.path.join(REPO, "target", "release", "libprise.so"))
# The course functions print their failures, as the course does; the tests provoke many.
os.environ["PRISE_QUIET"] = "1"
