import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

// The server under PARLEY_DEV_SERVER answers /auth/, /api/ and /ws while
// `npm run dev` serves the client with hot reload.
const backend = process.env.PARLEY_DEV_SERVER || 'http://127.0.0.1:8000'

export default defineConfig({
  plugins: [vue()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Keep every asset a file served from our own origin: the server's
    // content security policy allows data: URLs for images only, and no
    // inline code or styles at all.
    assetsInlineLimit: 0,
  },
  server: {
    proxy: {
      '/auth': backend,
      '/api': backend,
      '/healthz': backend,
      '/ws': { target: backend, ws: true },
    },
  },
  test: {
    include: ['src/**/*.test.js'],
    environment: 'node',
  },
})
