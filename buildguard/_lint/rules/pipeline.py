"""Pipeline rules: BG-CB001 (an image build with no earlier bundle build), BG-CB002 (an
image pushed or deployed only by a mutable tag), BG-CB003 (buildguard steps in an order
that cannot work)."""

from __future__ import annotations

from collections.abc import Iterator

from buildguard._lint.analysis import PipelineView, Placed, dockerfile_at, output_copies, pipelines
from buildguard._lint.effects import Deploy, Guard, ImageBuild, Push
from buildguard._lint.imagerefs import parse_ref
from buildguard._lint.rule import LintContext, Rule, finding
from buildguard._lint.workspace import Workspace
from buildguard._models.lintreport import LintFinding


def _where(view: PipelineView, placed: Placed) -> str:
    return f"{view.pipeline.file.path}:{placed.step.line} ({placed.step.label})"


def _cb001(workspace: Workspace, context: LintContext) -> Iterator[LintFinding]:
    for view in pipelines(workspace):
        for placed, build in view.image_builds():
            dockerfile = dockerfile_at(workspace, build.dockerfile)
            if dockerfile is None or build.context is None:
                continue
            seen: set[str] = set()
            for copy in output_copies(workspace, dockerfile, build.context):
                if copy.folder in seen:
                    continue
                seen.add(copy.folder)
                copied = (
                    f"{dockerfile.file.path}:{copy.copy.line} copies {copy.folder}/ from the "
                    "build context"
                )
                if build.git_context:
                    message = (
                        f"step {placed.step.label} builds an image with "
                        "docker/build-push-action's default Git context (no `context:`), so "
                        f"files earlier steps wrote are not in it, and {copied}"
                    )
                    hint = "set `context: .` on the build-push-action step (after the build)"
                elif view.built_before(copy.folder, placed):
                    continue
                else:
                    producers = view.producers(copy.folder)
                    later = (
                        f"; {_where(view, producers[0])} builds it, but not before this step "
                        "(check its order and waitFor/needs)"
                        if producers
                        else ""
                    )
                    message = (
                        f"step {placed.step.label} builds an image whose Dockerfile "
                        f"{copied}, and no earlier step builds {copy.folder}/{later}: the "
                        "image ships whatever old files are there"
                    )
                    hint = (
                        f"run the bundle build (e.g. `npm ci && npm run build`) in a step this "
                        f"image build waits for, or build {copy.folder}/ in a Dockerfile stage"
                    )
                yield finding(CB001, view.pipeline.file, placed.step.line, message, hint)


def _repo_refs(view: PipelineView) -> dict[str, list[tuple[str, int, str]]]:
    """Every reference of each repository pushed or deployed: (ref, line, how)."""
    refs: dict[str, list[tuple[str, int, str]]] = {}

    def add(text: str, line: int, how: str) -> None:
        refs.setdefault(parse_ref(text).repository, []).append((text, line, how))

    for placed in view.placed:
        effect = placed.effect
        if isinstance(effect, Push):
            add(effect.ref, placed.step.line, "pushed")
        elif isinstance(effect, ImageBuild):
            for tag in effect.tags:
                add(tag, placed.step.line, "pushed" if effect.pushes else "tagged")
        elif isinstance(effect, Deploy):
            for ref in effect.refs:
                add(ref, placed.step.line, "deployed")
    for ref, line in view.pipeline.images:
        add(ref, line, "listed in images:")
    return refs


def _cb002(workspace: Workspace, context: LintContext) -> Iterator[LintFinding]:
    for view in pipelines(workspace):
        listed = {parse_ref(ref).repository for ref, _ in view.pipeline.images}
        for repository, uses in _repo_refs(view).items():
            if repository in listed:
                continue
            shipped = [u for u in uses if u[2] in ("pushed", "deployed")]
            if not shipped:
                continue
            if not all(parse_ref(ref).mutable for ref, _, _ in uses):
                continue
            ref, line, how = shipped[0]
            yield finding(
                CB002,
                view.pipeline.file,
                line,
                f"{ref} is {how} only by a mutable tag and no digest is recorded: what runs "
                "can change under the same name, and nobody can tell which build it is",
                "tag it with the commit or build id (e.g. `:$SHORT_SHA`), list it under "
                "`images:` so the build records its digest, and deploy by digest",
            )


def _normal(text: str) -> str:
    return parse_ref(text).normal


def _cb003(workspace: Workspace, context: LintContext) -> Iterator[LintFinding]:
    for view in pipelines(workspace):
        yield from _seal_order(view)
        yield from _verify_order(view)
        yield from _deploy_order(view)


def _seal_order(view: PipelineView) -> Iterator[LintFinding]:
    for placed in view.placed:
        effect = placed.effect
        if not isinstance(effect, Guard) or effect.verb != "seal" or effect.target is None:
            continue
        producers = [p for p in view.producers(effect.target) if p is not placed]
        if producers and not any(view.earlier(p, placed) for p in producers):
            yield finding(
                CB003,
                view.pipeline.file,
                placed.step.line,
                f"step {placed.step.label} seals {effect.target}/ before the build that "
                f"writes it ({_where(view, producers[0])}) has surely finished: the seal "
                "judges old files, or races the build",
                "order the steps record, build, seal (the seal step waits for the build)",
            )


def _verify_order(view: PipelineView) -> Iterator[LintFinding]:
    images = {_normal(ref) for ref, _ in view.pipeline.images}
    for placed in view.placed:
        effect = placed.effect
        if not isinstance(effect, Guard) or effect.verb != "verify" or effect.target is None:
            continue
        target = effect.target
        if target.startswith("docker-daemon:"):
            name = _normal(target[len("docker-daemon:") :])
            builds = [p for p, b in view.image_builds() if name in {_normal(t) for t in b.tags}]
            if builds and not any(view.earlier(p, placed) for p in builds):
                yield finding(
                    CB003,
                    view.pipeline.file,
                    placed.step.line,
                    f"step {placed.step.label} verifies {target} before the step that "
                    f"builds it ({_where(view, builds[0])}) has surely finished",
                    "make the verify step wait for the docker build",
                )
            continue
        if target.startswith(("docker-archive:", "oci-layout:")):
            continue
        ref = parse_ref(target)
        if ref.digest is not None or ref.templated:
            continue
        name = ref.normal
        pushes = [
            p
            for p in view.placed
            if (isinstance(p.effect, Push) and _normal(p.effect.ref) == name)
            or (
                isinstance(p.effect, ImageBuild)
                and p.effect.pushes
                and name in {_normal(t) for t in p.effect.tags}
            )
        ]
        if any(view.earlier(p, placed) for p in pushes):
            continue
        if pushes:
            why = f"before the step that pushes it ({_where(view, pushes[0])}) has finished"
        elif name in images:
            why = "but `images:` pushes it only after every step has finished"
        else:
            continue
        yield finding(
            CB003,
            view.pipeline.file,
            placed.step.line,
            f"step {placed.step.label} verifies the tag {target} {why}: it reads whatever "
            "the tag named before this build",
            "push the image in a step before the verify (`docker push`), or verify "
            "`docker-daemon:IMAGE` before the push",
        )


def _deploy_order(view: PipelineView) -> Iterator[LintFinding]:
    verifies: dict[str, list[Placed]] = {}
    for placed in view.placed:
        effect = placed.effect
        if isinstance(effect, Guard) and effect.verb == "verify" and effect.target:
            target = effect.target.removeprefix("docker-daemon:")
            verifies.setdefault(parse_ref(target).repository, []).append(placed)
    if not verifies:
        return
    for placed in view.placed:
        effect = placed.effect
        if not isinstance(effect, Deploy):
            continue
        for ref in effect.refs:
            checks = verifies.get(parse_ref(ref).repository, [])
            if checks and not any(view.earlier(v, placed) for v in checks):
                yield finding(
                    CB003,
                    view.pipeline.file,
                    placed.step.line,
                    f"step {placed.step.label} deploys {ref} before the verify of that image "
                    f"({_where(view, checks[0])}) has surely finished: a failing verify "
                    "cannot stop the deploy",
                    "make the deploy step wait for the verify step (order, waitFor or needs)",
                )
                break


CB001 = Rule(
    id="BG-CB001",
    severity="error",
    title="An image build with no earlier step that builds what its Dockerfile copies",
    help=(
        "The incident's pipeline had only `docker build`: the Dockerfile copied dist/ and no "
        "step built it, so the image shipped an old bundle. Cloud Build runs a step after "
        "every earlier step unless `waitFor` says otherwise (`-` starts it at once); GitHub "
        "Actions runs a job's steps in order and jobs by `needs`, each job on its own "
        "machine. Fix: run the bundle build in a step the image build waits for, or build in "
        "a Dockerfile stage."
    ),
    check=_cb001,
)
CB002 = Rule(
    id="BG-CB002",
    severity="warning",
    title="An image pushed or deployed only by a mutable tag, with no digest recorded",
    help=(
        "An image known only as `:latest` (or with no tag) can change under the same name; "
        "with no `images:` entry Cloud Build records no digest, so nobody can tell which "
        "build is running. Fix: tag with the commit or build id, list the image under "
        "`images:`, deploy by digest."
    ),
    check=_cb002,
)
CB003 = Rule(
    id="BG-CB003",
    severity="error",
    title="buildguard steps in an order that cannot work",
    help=(
        "A seal before the build judges old files; a verify of a registry tag before its "
        "push (or when only `images:` pushes it, after every step) reads the previous "
        "image; a deploy that does not wait for the verify of what it deploys cannot be "
        "stopped by it. Fix: record, build, seal, docker build, verify, push, verify by "
        "digest, deploy."
    ),
    check=_cb003,
)

RULES = (CB001, CB002, CB003)
