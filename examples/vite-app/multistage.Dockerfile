# The multi-stage pattern: the bundle is built and sealed inside the image build, in a stage
# that has buildguard (the Node variant of steps/), and only the sealed dist/ is copied into
# the final image. See docs/cloudbuild.md.
#
#   docker build -f multistage.Dockerfile \
#     --build-arg BUILD_ID=$BUILD_ID --build-arg COMMIT_SHA=$COMMIT_SHA \
#     --build-arg BUILDGUARD_NODE=REGION-docker.pkg.dev/PROJECT/buildguard/buildguard-node:0.1.0 .
ARG BUILDGUARD_NODE=europe-west1-docker.pkg.dev/my-project/buildguard/buildguard-node:0.1.0

FROM ${BUILDGUARD_NODE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
# Declared here, the build id is part of the cache key of every RUN below: a new build never
# reuses a bundle (and canary) cached from another build. RUN sees both as variables.
ARG BUILD_ID
ARG COMMIT_SHA
RUN buildguard record --clean dist
RUN set -a && . .buildguard/build.env && set +a && npm run build
RUN buildguard seal dist

FROM nginx:stable-bookworm
COPY nginx.conf /etc/nginx/conf.d/default.conf
# The base ships index.html and 50x.html there: empty the folder, or verify reports
# 50x.html as FILE_EXTRA (a file the sealed bundle does not have).
RUN rm -rf /usr/share/nginx/html/*
COPY --from=build /src/dist /usr/share/nginx/html
