# One image for the gateway and the five subgraphs; docker-compose.yml picks the process with
# `command: ["node", "<entry>.ts"]`. Node 24 runs the TypeScript sources directly (type
# stripping), so there is no build step: the sources are copied as they are.
FROM node:24-slim

WORKDIR /app
ENV NODE_ENV=production \
    APOLLO_TELEMETRY_DISABLED=true \
    NODE_COMPILE_CACHE=/tmp/node-compile-cache

# Dependencies first, so a source change does not reinstall them. (`npm ci` is not used: the
# lock file cannot record other platforms' optional binaries, see shared TOOLCHAIN notes.)
COPY package.json package-lock.json ./
RUN npm install --omit=dev --no-audit --no-fund && npm cache clean --force

COPY tsconfig.json ./
COPY shared ./shared
COPY nats ./nats
COPY subgraphs ./subgraphs
COPY gateway ./gateway
COPY scripts ./scripts

# The gateway's supergraph, composed from the schema files the image holds.
RUN node scripts/compose-supergraph.ts

USER node
CMD ["node", "gateway/src/main.ts"]
