# syntax=docker/dockerfile:1.7
# istio-lite: every control-plane command (webhook, pilot, mixer, ca, node-agent) in one image.
# Node 24 LTS runs the TypeScript sources directly (type stripping), so there is no build step;
# only production dependencies are installed, and the process runs as a non-root user.
ARG NODE_IMAGE=node:24.21.0-bookworm-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY lib ./lib
COPY cli ./cli
COPY webhook ./webhook
COPY pilot ./pilot
COPY mixer ./mixer
COPY ca ./ca
COPY agent ./agent
COPY docker/istio-lite /usr/local/bin/istio-lite
USER 1337:1337
ENTRYPOINT ["istio-lite"]
CMD ["--help"]
