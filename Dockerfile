# Hookhub: build the TypeScript, then run it on a slim Node 20 image.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY console ./console
COPY schemas ./schemas
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY schemas ./schemas
COPY docs ./docs
COPY connectors ./connectors
COPY config ./config
USER node
EXPOSE 3000
# Asks the hub where it is configured to listen (PORT, HOST as the hub reads them), so a hub moved
# off 3000 is not reported unhealthy; a wildcard HOST is reached on loopback.
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD node -e "const h=(process.env.HOST||'').trim();const host=h===''||h==='0.0.0.0'||h==='::'?'127.0.0.1':h.includes(':')?'['+h+']':h;fetch('http://'+host+':'+((process.env.PORT||'').trim()||'3000')+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# The V8 heap settings of the hub process (docs/memory.md): the same flags as `npm start`.
CMD ["sh", "-c", "exec node --max-semi-space-size=2 --heap-growing-percent=25 --max-old-space-size=${HOOKHUB_HEAP_MB:-512} dist/main.js"]
