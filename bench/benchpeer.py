"""The peer of ``buildguard verify``: the skopeo + tar + sha256sum script a user would write.

It only *extracts and hashes* the bundle; it compares nothing with a manifest, a record or a
build id, so it does less checking than buildguard. Its output is checked (outside the
timing) against the dist files' own hashes.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from benchapp import IMAGE_PATH
from benchtiming import TIME, Sample, timed

PEER_TOOLS = ("skopeo", "jq", "tar", "sha256sum", "bash", TIME)

PEER_SCRIPT = r"""
set -euo pipefail
skopeo --policy "$POLICY" copy -q --src-tls-verify=false "docker://$IMAGE" "dir:$WORK/img"
mkdir -p "$WORK/out"
for digest in $(jq -r '.layers[].digest' "$WORK/img/manifest.json"); do
  if ! tar -xzf "$WORK/img/${digest#sha256:}" -C "$WORK/out" "$MEMBER" 2>"$WORK/tar.err"; then
    if grep -v -e 'Not found in archive' -e 'Exiting with failure status' "$WORK/tar.err" >&2
    then exit 1; fi
  fi
done
cd "$WORK/out" && find "$MEMBER" -type f -exec sha256sum {} +
"""


def run_peer(ref: str, policy: Path, work: Path, log: Path, expected: dict[str, str]) -> Sample:
    """One timed run of the peer script on registry image ``ref``; its temp dir is removed
    after the run, outside the timing."""
    member = IMAGE_PATH.strip("/")
    pwork = Path(tempfile.mkdtemp(prefix="peer-", dir=work))
    env = {**os.environ, "POLICY": str(policy), "IMAGE": ref, "WORK": str(pwork), "MEMBER": member}
    try:
        sample = timed(["bash", "-c", PEER_SCRIPT], work, log, env)
    finally:
        shutil.rmtree(pwork)
    got: dict[str, str] = {}
    for line in log.read_text().splitlines():
        digest, _, path = line.partition("  ")
        got[path.removeprefix(member + "/")] = digest
    if got != expected:
        raise RuntimeError(f"peer pipeline hashed other files than dist holds; see {log}")
    return sample
