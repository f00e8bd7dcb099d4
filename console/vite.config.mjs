import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The web console: built into dist/console and served by the hub at /console (src/api/console.ts).
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/console/',
  publicDir: false,
  build: {
    outDir: fileURLToPath(new URL('../dist/console', import.meta.url)),
    emptyOutDir: true,
    assetsDir: 'assets',
    // No inline scripts anywhere: the Content-Security-Policy allows only the hub's own files.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    reportCompressedSize: true,
  },
});
