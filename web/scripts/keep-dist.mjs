// Vite empties dist/ before it writes the build, which removes the
// committed dist/.keep. Without that file a fresh clone has no dist/ at
// all and the Go embed pattern in embed.go fails to compile, so put it back.
import { writeFileSync } from 'node:fs'

writeFileSync(new URL('../dist/.keep', import.meta.url), '')
