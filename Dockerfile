# syntax=docker/dockerfile:1
# Multi-stage: build with dev dependencies, ship only production dependencies and the compiled code.
# Node 26, the current LTS line (the code also runs on Node 20.19+: package.json `engines`).
FROM node:26-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY scripts ./scripts
COPY migrations ./migrations
COPY seeders ./seeders
RUN npm run build

FROM node:26-slim AS runtime
ENV NODE_ENV=production
# FFmpeg transcodes voice messages (without it the server runs, and voice routes answer 503).
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# The web client at /app: static ES modules, served as they are (no build step).
COPY public ./public
RUN mkdir -p /app/uploads && chown -R node:node /app/uploads
USER node
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"
# Migrations are an admin step (docker compose run --rm app node dist/scripts/db.js migrate); the compose
# file's full stack runs them, and the demo seeds, before it starts the server.
CMD ["node", "dist/src/server.js"]
