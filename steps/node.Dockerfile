# The Node variant: buildguard added to a Node base, so that one step can record, build and
# seal:
#
#   - name: .../buildguard-node:VERSION
#     args: ['run', '--', 'sh', '-c', 'npm ci && npm run build']
#
# Built by steps/cloudbuild.yaml from the same wheels/ as the Python step (see Dockerfile):
#
#   docker build -f steps/node.Dockerfile --build-arg NODE_BASE=node:22-bookworm-slim steps
#
# NODE_BASE must be Debian 12 (bookworm) based: its python3 (3.11) runs buildguard, so the
# wheels must be made by a Python 3.11 (steps/cloudbuild.yaml's _PYTHON_BASE).
ARG NODE_BASE=node:22-bookworm-slim

FROM ${NODE_BASE} AS base
# The official Node images have no Python: add Debian's, with venv and libmagic, if missing.
RUN if ! python3 -c 'import ensurepip, venv' 2>/dev/null \
       || ! ldconfig -p | grep -q 'libmagic\.so\.1'; then \
      apt-get update \
      && apt-get install -y --no-install-recommends python3 python3-venv libmagic1 \
      && rm -rf /var/lib/apt/lists/*; \
    fi

FROM base AS venv
COPY wheels /tmp/wheels
RUN python3 -m venv /opt/buildguard \
 && /opt/buildguard/bin/pip install --no-cache-dir --no-index --find-links /tmp/wheels 'buildguard-cli[gcp]'

FROM base
# The OCI annotations as labels (image-spec annotations.md); version and revision come from
# the build (steps/cloudbuild.yaml passes them).
ARG BUILDGUARD_VERSION=unknown
ARG BUILDGUARD_REVISION=unknown
LABEL org.opencontainers.image.title="buildguard" \
      org.opencontainers.image.description="buildguard on Node, for Cloud Build: record, build and seal a frontend bundle in one step" \
      org.opencontainers.image.source="https://github.com/buildguard/buildguard" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${BUILDGUARD_VERSION}" \
      org.opencontainers.image.revision="${BUILDGUARD_REVISION}"
COPY --from=venv /opt/buildguard /opt/buildguard
RUN ln -s /opt/buildguard/bin/buildguard /usr/local/bin/buildguard && buildguard --version
WORKDIR /workspace
ENTRYPOINT ["buildguard"]
