"""What "old" and "new" are, made runnable: an image that exists locally, a git ref built into an image (cached by
commit), and the compose variables of each side.

Every error names the side (``old`` / ``new``) and what to fix.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pytest_blissful.config.schema import BlissfulConfig, VersionConfig

Progress = Callable[[str], None]
COMMIT_LABEL = "io.blissful.compare-commit"


class VersionError(Exception):
    """A side of the comparison cannot be provisioned; the message names the side."""


@dataclass(frozen=True)
class ResolvedVersion:
    """One side, ready for ``docker compose up``: an optional image for ``comparison.services`` and variables."""

    side: str
    label: str
    image: str | None
    env: Mapping[str, str] = field(default_factory=dict)
    commit: str | None = None
    built: bool = False  # False: the image came from the cache (or was given)


def resolve(side: str, version: VersionConfig, config: BlissfulConfig, progress: Progress) -> ResolvedVersion:
    env = {**config.stack.env, **version.env}
    if version.image is not None:
        _ensure_image(side, version.image)
        return ResolvedVersion(side, version.label or version.image, version.image, env)
    if version.ref is not None:
        repo = _repo_root(side, (config.base_dir / version.repo) if version.repo else config.base_dir)
        commit = _commit(side, repo, version.ref)
        image, built = build_ref(side, repo, commit, version, timeout_s=config.comparison.build_timeout,
                                 progress=progress)
        return ResolvedVersion(side, version.label or f"{version.ref} ({commit[:12]})", image, env, commit, built)
    return ResolvedVersion(side, version.label or side, None, env)


def _ensure_image(side: str, image: str) -> None:
    if _image_exists(image):
        return
    pulled = subprocess.run(["docker", "pull", image], capture_output=True, text=True, timeout=300, check=False)
    if pulled.returncode != 0:
        detail = (pulled.stderr or pulled.stdout).strip().splitlines()[-1:] or ["no output"]
        raise VersionError(f"comparison.{side}.image: image {image!r} is not available locally and could not be "
                           f"pulled ({detail[0]}); build or pull it first")


def _image_exists(image: str) -> bool:
    inspect = subprocess.run(["docker", "image", "inspect", image], capture_output=True, timeout=60, check=False)
    return inspect.returncode == 0


def _git(repo: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=timeout,
                          check=False)


def _repo_root(side: str, path: Path) -> Path:
    if shutil.which("git") is None:
        raise VersionError(f"comparison.{side}.ref: git is not installed")
    top = _git(path, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        raise VersionError(f"comparison.{side}.ref: {path} is not inside a git repository "
                           f"(set comparison.{side}.repo): {top.stderr.strip()}")
    return Path(top.stdout.strip())


def _commit(side: str, repo: Path, ref: str) -> str:
    found = _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if found.returncode != 0 or not found.stdout.strip():
        raise VersionError(f"comparison.{side}.ref: unknown git ref {ref!r} in {repo} "
                           "(check `git log --oneline` / `git branch -a`)")
    return found.stdout.strip()


def image_tag(repo: Path, commit: str) -> str:
    slug = re.sub(r"[^a-z0-9._-]+", "-", repo.name.lower()).strip("-._") or "service"
    return f"blissful-compare/{slug}:{commit[:12]}"


def build_ref(side: str, repo: Path, commit: str, version: VersionConfig, *, timeout_s: float,
              progress: Progress) -> tuple[str, bool]:
    """The image of ``commit``: from the cache (a previous build of the same commit and recipe), else built with
    ``docker build`` in a temporary git worktree at that commit (removed afterwards)."""
    tag = image_tag(repo, commit)
    args = sorted(version.build_args.items())
    recipe = f"{commit}|{version.context}|{version.dockerfile}|{args}"
    cached = subprocess.run(["docker", "image", "inspect", "-f", f'{{{{ index .Config.Labels "{COMMIT_LABEL}" }}}}',
                             tag], capture_output=True, text=True, timeout=60, check=False)
    if cached.returncode == 0 and cached.stdout.strip() == recipe:
        progress(f"blissful: {side}: image {tag} of {commit[:12]} is cached")
        return tag, False
    workdir = Path(tempfile.mkdtemp(prefix="blissful-ref-"))
    tree = workdir / "tree"
    try:
        added = _git(repo, "worktree", "add", "--detach", str(tree), commit, timeout=300)
        if added.returncode != 0:
            raise VersionError(f"comparison.{side}.ref: git worktree add failed: {added.stderr.strip()}")
        context = tree / version.context
        if not context.is_dir():
            raise VersionError(f"comparison.{side}.context: {version.context} does not exist at {commit[:12]}")
        # --force-rm: a failed step's container is removed too (the classic builder keeps it otherwise)
        command = ["docker", "build", "--force-rm", "-t", tag, "--label", f"{COMMIT_LABEL}={recipe}",
                   "--label", "io.blissful.compare=true"]
        if version.dockerfile is not None:
            command += ["-f", str(context / version.dockerfile)]
        for key, value in args:
            command += ["--build-arg", f"{key}={value}"]
        progress(f"blissful: {side}: building {tag} from {commit[:12]} ...")
        log = workdir / "build.log"
        with log.open("wb") as out:
            try:
                code = subprocess.run([*command, str(context)], stdout=out, stderr=subprocess.STDOUT,
                                      timeout=timeout_s, check=False).returncode
            except subprocess.TimeoutExpired:
                code = None
        if code != 0:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
            what = "timed out" if code is None else f"failed (exit {code})"
            raise VersionError(f"comparison.{side}: docker build of {version.ref} ({commit[:12]}) {what}; "
                               f"last lines of the build log:\n{tail}")
        return tag, True
    finally:
        _git(repo, "worktree", "remove", "--force", str(tree))
        _git(repo, "worktree", "prune")
        shutil.rmtree(workdir, ignore_errors=True)


def override_file(directory: Path, side: str, image: str, services: Sequence[str]) -> Path:
    """A compose override that runs ``image`` for ``services`` (never built: the image is already there)."""
    import yaml

    document = {"services": {name: {"image": image, "pull_policy": "never"} for name in services}}
    path = directory / f"compose.{side}.override.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=True))
    return path
