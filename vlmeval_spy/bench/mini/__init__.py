"""SPY-Bench-Mini: a small offline benchmark in the SPY-Bench format, written for this project.

The json files follow the upstream formats (docs/specification.md §2); the pictures are synthetic
and are drawn on demand by `write_images`, so no image files ship with the package.
"""

from pathlib import Path

from .images import write_images

MINI_DIR: Path = Path(__file__).resolve().parent
QUESTIONS_PATH: Path = MINI_DIR / "questions.json"
LABEL2TEXT_PATH: Path = MINI_DIR / "label2text.json"
SCENARIOS_PATH: Path = MINI_DIR / "scenarios.json"

__all__ = ["MINI_DIR", "QUESTIONS_PATH", "LABEL2TEXT_PATH", "SCENARIOS_PATH", "write_images"]
