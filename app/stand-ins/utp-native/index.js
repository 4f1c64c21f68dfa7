// Shoal peers speak TCP only (swarm-client.ts turns uTP off). webtorrent reads an empty module as
// "no uTP here", as when the native build is missing, without trying to load it.
module.exports = {}
