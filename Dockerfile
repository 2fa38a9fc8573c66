# syntax=docker/dockerfile:1.7
# istio-lite: every control-plane command (webhook, pilot, mixer, ca, node-agent) in one image.
# The TypeScript sources are compiled in a build stage and the image runs the JavaScript: Node's
# type stripping would load a WebAssembly compiler into every process (about 18 MB of RSS) and
# strip each file again at every start. Only production dependencies are installed at run time,
# and the process runs as a non-root user.
ARG NODE_IMAGE=node:24.21.0-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY lib ./lib
COPY cli ./cli
COPY webhook ./webhook
COPY pilot ./pilot
COPY mixer ./mixer
COPY ca ./ca
COPY agent ./agent
COPY vm ./vm
COPY ops ./ops
# The image's own Node runs the compiler (npm ci --ignore-scripts leaves the `node` package unpacked).
RUN node node_modules/typescript/bin/tsc -p tsconfig.build.json

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
# The lock file stays, so `npm install` of an adapter in an image built FROM this one keeps every
# locked version (docs/mixer-build.md).
COPY package.json package-lock.json ./
COPY --from=build /src/dist ./dist
# The .proto files the compiled modules load (found next to dist/, as in the source tree).
COPY lib/ca/proto ./lib/ca/proto
COPY lib/mixer/proto ./lib/mixer/proto
# Envoy's protos as one JSON bundle (lib/xds/proto-bundle.ts): read faster than the .proto files.
COPY lib/xds/envoy-protos.json ./lib/xds/envoy-protos.json
# The dashboard's page (HTML, CSS, script), served as files by `istio-lite dashboard`.
COPY ops/dashboard/static ./ops/dashboard/static
COPY docker/istio-lite /usr/local/bin/istio-lite
USER 1337:1337
ENTRYPOINT ["istio-lite"]
CMD ["--help"]
