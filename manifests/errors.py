"""The error a manifest check raises."""

from __future__ import annotations


class ManifestError(ValueError):
    """A manifest or a base URL is invalid. `problems` lists every fault found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__(" ".join(self.problems))
