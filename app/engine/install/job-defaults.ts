/** Defaults chosen by `npm run bench` (README, "CDN engine"); apart so the CLI's flags need no engine code. */
export const DEFAULT_CONNECTIONS = 4
