# syntax=docker/dockerfile:1
# GES container image: docker build -t ges:0.1.0 .   (docs/DEPLOYMENT.md)
#
# Two stages on the official Node 24 image. The build stage installs every dependency and compiles
# src/ to dist/ with tsc; the runtime stage holds only the production dependencies, dist/,
# migrations/, assets/ (the SIP adapter's prompts), bin/ and package.json. bin/ges.mjs runs dist/ when tsx is absent, as it is here.
ARG NODE_IMAGE=node:24-bookworm-slim

# --- build -------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts/copy-build-assets.mjs ./scripts/
# tsc, then every non-TypeScript file of src/ (Lua scripts, console templates and assets) beside it.
RUN npm run build

# --- runtime -----------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY migrations ./migrations
# dist/voice/sip/media/prompt.js finds its WAV prompts at ../../../../assets/prompts, as src/ does.
COPY assets ./assets
COPY bin ./bin
# The embedded database (DATA_DIR=./data, used only when DATABASE_URL is empty) must be writable
# by the unprivileged user for a quick `docker run`; in Kubernetes DATABASE_URL is always set.
RUN mkdir -p /app/data && chown 1000:1000 /app/data

# uid/gid 1000 is the `node` user of the official image. A numeric id lets Kubernetes verify
# runAsNonRoot without looking the name up.
USER 1000:1000

# 3005: Engagement API and API docs. 3050: internal port (health probes, /metrics, admin API).
EXPOSE 3005 3050

# Slim images have no curl: Node's own fetch asks the liveness endpoint on the internal port.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.INTERNAL_PORT || 3050) + '/health/live').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

CMD ["node", "bin/ges.mjs", "start"]
