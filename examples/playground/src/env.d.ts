// Vite's ambient types: `?url` imports and import.meta.env, for `tsc -p tsconfig.json`.
/// <reference types="vite/client" />
