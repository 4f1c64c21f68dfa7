// Shoal never runs the BitTorrent DHT (swarm-client.ts turns it off in every client). webtorrent
// and torrent-discovery take an undefined Client as "no DHT here", as in their browser builds, so
// the DHT and its dependencies are not loaded at each swarm's start (README, "Stand-ins").
export const Client = undefined
export const Server = undefined
export default undefined
